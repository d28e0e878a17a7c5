// Max pooling: the RTL twin of hls/fpgaq/pool.h maxpool and global_maxpool. The maximum is taken over sign * x per
// channel (SIGNS, $readmemh: G words of L bits, bit e of word g set where channel g * L + e is negated, i.e. where
// the pooled value decreases with the code) and the result turned back by the same sign, in IN_BITS + 1 signed bits
// (the negation of any code fits). Windowed (GLOBAL = 0): the KH * KW consecutive window words of L lanes from a
// sliding-window generator (G = C / L groups per output pixel), positions outside the image skipped as ONNX pads
// with -inf - the counters follow each window word's position (kw fastest, then kh, g, ow, oh, frames) - one output word
// per window. Global (GLOBAL = 1): the frame in channels-last words of L channels, a running maximum per channel,
// the last pixel's words leave as they are folded in. One input word per cycle.
`default_nettype none

module fpgaq_maxpool #(
    parameter integer L = 2,
    parameter integer G = 1,  // C / L
    parameter integer GLOBAL = 0,
    parameter integer PIXELS = 4,  // H * W (global)
    parameter integer H = 4,
    parameter integer W = 4,
    parameter integer KH = 2,
    parameter integer KW = 2,
    parameter integer SH = 2,
    parameter integer SW = 2,
    parameter integer DH = 1,
    parameter integer DW = 1,
    parameter integer PT = 0,
    parameter integer PL = 0,
    parameter integer OH = 2,
    parameter integer OW = 2,
    parameter integer IN_BITS = 4,
    parameter integer IN_SIGNED = 0,
    parameter integer OUT_BITS = 4,
    parameter SIGNS = "signs.mem"
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
    localparam integer N = IN_BITS + 1;  // sign * x for every code
    localparam integer RUNS = GLOBAL != 0 ? G : 1;  // running maxima per lane
    localparam integer GB = G > 1 ? $clog2(G) : 1;

    reg [L-1:0] smem[0:(1<<GB)-1];  // G words used
    initial $readmemh(SIGNS, smem, 0, G - 1);

    reg [L*N-1:0] best[0:RUNS-1];
    reg any;  // a position inside the image seen in this window
    reg [GB-1:0] g;
    integer kw, kh, ow, oh, pixel, ih0, iw0, ih, iw;
    wire in_image = GLOBAL != 0 || (ih >= 0 && ih < H && iw >= 0 && iw < W);
    wire first = GLOBAL != 0 ? pixel == 0 : !any;
    wire last = GLOBAL != 0 ? pixel == PIXELS - 1 : kh == KH - 1 && kw == KW - 1;
    wire [L-1:0] neg = smem[g];
    wire [L*N-1:0] running = best[GLOBAL != 0 ? g : 0];
    assign in_ready = !last || !out_valid || out_ready;
    wire fire = in_valid && in_ready;

    reg [L*N-1:0] kept;
    reg [L*OUT_BITS-1:0] result;
    reg signed [N-1:0] x, y, m;
    integer e;
    always @* begin
        for (e = 0; e < L; e = e + 1) begin
            x = {IN_SIGNED != 0 && in_data[e*IN_BITS+IN_BITS-1], in_data[e*IN_BITS+:IN_BITS]};
            y = neg[e] ? -x : x;
            m = $signed(running[e*N+:N]);
            if (in_image && (first || y > m)) m = y;
            kept[e*N+:N] = m;
            m = neg[e] ? -m : m;
            result[e*OUT_BITS+:OUT_BITS] = OUT_BITS'(m);
        end
    end

    always @(posedge clk) begin
        if (rst) begin
            kw <= 0;
            kh <= 0;
            g <= 0;
            ow <= 0;
            oh <= 0;
            pixel <= 0;
            ih0 <= -PT;
            iw0 <= -PL;
            ih <= -PT;
            iw <= -PL;
            any <= 1'b0;
            out_valid <= 1'b0;
        end else begin
            if (out_valid && out_ready) out_valid <= 1'b0;
            if (fire) begin
                best[GLOBAL != 0 ? g : 0] <= kept;
                if (last) begin
                    out_data <= result;
                    out_valid <= 1'b1;
                end
                if (GLOBAL != 0) begin
                    g <= g == GB'(G - 1) ? 0 : g + 1'b1;
                    if (g == GB'(G - 1)) pixel <= last ? 0 : pixel + 1;
                end else begin
                    any <= !last && (any || in_image);
                    if (kw == KW - 1) begin
                        kw <= 0;
                        iw <= iw0;
                        if (kh == KH - 1) begin
                            kh <= 0;
                            ih <= ih0;
                            if (g == GB'(G - 1)) begin
                                g <= 0;
                                if (ow == OW - 1) begin
                                    ow <= 0;
                                    iw0 <= -PL;
                                    iw <= -PL;
                                    oh <= oh == OH - 1 ? 0 : oh + 1;  // the next frame starts at the top
                                    ih0 <= oh == OH - 1 ? -PT : ih0 + SH;
                                    ih <= oh == OH - 1 ? -PT : ih0 + SH;
                                end else begin
                                    ow <= ow + 1;
                                    iw0 <= iw0 + SW;
                                    iw <= iw0 + SW;
                                end
                            end else begin
                                g <= g + 1'b1;
                            end
                        end else begin
                            kh <= kh + 1;
                            ih <= ih + DH;
                        end
                    end else begin
                        kw <= kw + 1;
                        iw <= iw + DW;
                    end
                end
            end
        end
    end
endmodule

`default_nettype wire
