// Concatenation (the RTL twin of hls/fpgaq/streams.h concat2): OUTER times, N0 elements of a then N1 elements of
// b, one element per word and per cycle (a channel concat of channels-last streams has OUTER = pixels, a concat
// of flat vectors OUTER = 1); each element resized to OUT_BITS (sign-extended where its input is signed).
`default_nettype none

module fpgaq_concat #(
    parameter integer N0 = 2,
    parameter integer N1 = 2,
    parameter integer A_BITS = 4,
    parameter integer A_SIGNED = 0,
    parameter integer B_BITS = 4,
    parameter integer B_SIGNED = 0,
    parameter integer OUT_BITS = 4
) (
    input wire clk,
    input wire rst,
    input wire [A_BITS-1:0] a_data,
    input wire a_valid,
    output wire a_ready,
    input wire [B_BITS-1:0] b_data,
    input wire b_valid,
    output wire b_ready,
    output reg [OUT_BITS-1:0] out_data,
    output reg out_valid,
    input wire out_ready
);
    localparam integer IB = $clog2(N0 + N1);

    reg [IB-1:0] i;  // element of the block: from a below N0, from b above
    wire from_a = i < IB'(N0);
    wire slot = !out_valid || out_ready;
    assign a_ready = from_a && slot;
    assign b_ready = !from_a && slot;
    wire fire = (from_a ? a_valid : b_valid) && slot;

    wire [OUT_BITS-1:0] a_out = A_SIGNED != 0 ? OUT_BITS'($signed(a_data)) : OUT_BITS'(a_data);
    wire [OUT_BITS-1:0] b_out = B_SIGNED != 0 ? OUT_BITS'($signed(b_data)) : OUT_BITS'(b_data);

    always @(posedge clk) begin
        if (rst) begin
            i <= 0;
            out_valid <= 1'b0;
        end else begin
            if (out_valid && out_ready) out_valid <= 1'b0;
            if (fire) begin
                out_data <= from_a ? a_out : b_out;
                out_valid <= 1'b1;
                i <= i == IB'(N0 + N1 - 1) ? 0 : i + 1'b1;
            end
        end
    end
endmodule

`default_nettype wire
