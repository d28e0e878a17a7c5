// Layout change over a buffered frame: out[p] = in[PERM[p]], one element per word (the RTL twin of
// hls/fpgaq/streams.h reorder): NUM words in, then NUM words out, 2 * NUM cycles per frame.
`default_nettype none

module fpgaq_reorder #(
    parameter integer NUM = 4,
    parameter integer BITS = 8,
    parameter PERM = "perm.mem"
) (
    input wire clk,
    input wire rst,
    input wire [BITS-1:0] in_data,
    input wire in_valid,
    output wire in_ready,
    output reg [BITS-1:0] out_data,
    output reg out_valid,
    input wire out_ready
);
    localparam integer AB = NUM > 1 ? $clog2(NUM) : 1;

    reg [BITS-1:0] frame[0:(1<<AB)-1];
    reg [AB-1:0] perm[0:(1<<AB)-1];
    initial $readmemh(PERM, perm, 0, NUM - 1);

    reg emitting;
    reg [AB-1:0] i;
    wire last = i == AB'(NUM - 1);
    assign in_ready = !emitting;
    wire emit = emitting && (!out_valid || out_ready);

    always @(posedge clk) begin
        if (rst) begin
            emitting <= 1'b0;
            i <= 0;
            out_valid <= 1'b0;
        end else begin
            if (out_valid && out_ready) out_valid <= 1'b0;
            if (in_valid && in_ready) begin
                frame[i] <= in_data;
                i <= last ? 0 : i + 1'b1;
                if (last) emitting <= 1'b1;
            end
            if (emit) begin
                out_data <= frame[perm[i]];
                out_valid <= 1'b1;
                i <= last ? 0 : i + 1'b1;
                if (last) emitting <= 1'b0;
            end
        end
    end
endmodule

`default_nettype wire
