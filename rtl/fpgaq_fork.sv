// A tensor read by two kernels (the RTL twin of hls/fpgaq/elementwise.h fork2): every word goes to both outputs,
// each from its own output register. A word is taken when neither register holds a word its consumer has not
// yet taken, so two consumers that are always ready see one word per cycle; one that waits stalls both (the
// FIFO depths the plan sizes for a fork absorb the difference between the two paths).
`default_nettype none

module fpgaq_fork #(
    parameter integer BITS = 8
) (
    input wire clk,
    input wire rst,
    input wire [BITS-1:0] in_data,
    input wire in_valid,
    output wire in_ready,
    output reg [BITS-1:0] out0_data,
    output reg out0_valid,
    input wire out0_ready,
    output reg [BITS-1:0] out1_data,
    output reg out1_valid,
    input wire out1_ready
);
    assign in_ready = (!out0_valid || out0_ready) && (!out1_valid || out1_ready);
    wire fire = in_valid && in_ready;

    always @(posedge clk) begin
        if (rst) begin
            out0_valid <= 1'b0;
            out1_valid <= 1'b0;
        end else begin
            if (out0_valid && out0_ready) out0_valid <= 1'b0;
            if (out1_valid && out1_ready) out1_valid <= 1'b0;
            if (fire) begin
                out0_data <= in_data;
                out1_data <= in_data;
                out0_valid <= 1'b1;
                out1_valid <= 1'b1;
            end
        end
    end
endmodule

`default_nettype wire
