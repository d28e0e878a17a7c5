// Sum pooling (average pooling before its division, which the next threshold holds): the RTL twin of
// hls/fpgaq/pool.h sumpool and global_sumpool. Windowed (GLOBAL = 0): the KH * KW consecutive window words of L
// lanes from a sliding-window generator are summed, one output word per window. Global (GLOBAL = 1): the frame
// streams in channels-last words of L channels (G = C / L words per pixel), a running sum per channel, the last
// pixel's words leave as they are folded in. One input word per cycle.
`default_nettype none

module fpgaq_sumpool #(
    parameter integer L = 2,
    parameter integer G = 1,  // C / L
    parameter integer WINDOW = 4,  // KH * KW (windowed)
    parameter integer PIXELS = 4,  // H * W (global)
    parameter integer GLOBAL = 0,
    parameter integer IN_BITS = 4,
    parameter integer IN_SIGNED = 0,
    parameter integer OUT_BITS = 8
) (
    input wire clk,
    input wire rst,
    input wire [L*IN_BITS-1:0] in_data,
    input wire in_valid,
    output wire in_ready,
    output reg [L*OUT_BITS-1:0] out_data,
    output reg out_valid,
    input wire out_ready
);
    localparam integer RUNS = GLOBAL != 0 ? G : 1;  // running sums per lane

    reg [L*OUT_BITS-1:0] sums[0:RUNS-1];
    integer k, g, pixel;
    wire first = GLOBAL != 0 ? pixel == 0 : k == 0;
    wire last = GLOBAL != 0 ? pixel == PIXELS - 1 : k == WINDOW - 1;
    wire [L*OUT_BITS-1:0] running = sums[GLOBAL != 0 ? g : 0];
    assign in_ready = !last || !out_valid || out_ready;
    wire fire = in_valid && in_ready;

    reg [L*OUT_BITS-1:0] result;
    reg [OUT_BITS-1:0] x;
    integer e;
    always @* begin
        for (e = 0; e < L; e = e + 1) begin
            if (IN_SIGNED != 0) x = OUT_BITS'($signed(in_data[e*IN_BITS+:IN_BITS]));
            else x = OUT_BITS'(in_data[e*IN_BITS+:IN_BITS]);
            result[e*OUT_BITS+:OUT_BITS] = (first ? {OUT_BITS{1'b0}} : running[e*OUT_BITS+:OUT_BITS]) + x;
        end
    end

    always @(posedge clk) begin
        if (rst) begin
            k <= 0;
            g <= 0;
            pixel <= 0;
            out_valid <= 1'b0;
        end else begin
            if (out_valid && out_ready) out_valid <= 1'b0;
            if (fire) begin
                sums[GLOBAL != 0 ? g : 0] <= result;
                if (last) begin
                    out_data <= result;
                    out_valid <= 1'b1;
                end
                if (GLOBAL != 0) begin
                    g <= g + 1 == G ? 0 : g + 1;
                    if (g + 1 == G) pixel <= last ? 0 : pixel + 1;
                end else begin
                    k <= last ? 0 : k + 1;
                end
            end
        end
    end
endmodule

`default_nettype wire
