// Sliding-window generator with a line buffer of NR = SPAN + SH rows (convolutions and pooling; 1-D as H = 1): the
// RTL twin of hls/fpgaq/swg.h, same output order (for every output pixel the window as words of SIMD channels in
// (group, kernel row, kernel column, channel) order), same padding code PAD outside the input, same memory.
// A row is read while its slot is free (rows_in < limit) and output row oh is written once its last input row is
// in (rows_in >= need); the read and the written row never share a slot, so reads and writes go on independently
// in the same cycle (one input word and one window word per cycle at most).
`default_nettype none

module fpgaq_swg #(
    parameter integer C = 4,
    parameter integer H = 4,
    parameter integer W = 4,
    parameter integer KH = 3,
    parameter integer KW = 3,
    parameter integer SH = 1,
    parameter integer SW = 1,
    parameter integer DH = 1,
    parameter integer DW = 1,
    parameter integer PT = 0,
    parameter integer PL = 0,
    parameter integer OH = 2,
    parameter integer OW = 2,
    parameter integer G = 1,
    parameter integer SIMD = 2,
    parameter integer NR = 4,
    parameter integer BITS = 4,
    parameter integer PAD = 0
) (
    input wire clk,
    input wire rst,
    input wire [SIMD*BITS-1:0] in_data,
    input wire in_valid,
    output wire in_ready,
    output reg [SIMD*BITS-1:0] out_data,
    output reg out_valid,
    input wire out_ready
);
    localparam integer CW = C / SIMD;  // words per pixel
    localparam integer CGW = C / G / SIMD;  // words per pixel and group
    localparam integer SPAN = (KH - 1) * DH + 1;
    localparam integer S0 = ((-PT) % NR + NR) % NR;  // the slot of row -PT
    localparam integer DEPTH = NR * W * CW;
    localparam integer AB = DEPTH > 1 ? $clog2(DEPTH) : 1;

    reg [SIMD*BITS-1:0] mem[0:DEPTH-1];

    // write side (the row being filled) and read side (output pixel, window position), as in swg.h
    integer rows_in, slot_in, x_in, c_in;
    integer oh, ow, g, kh, kw, cb, ih0, iw0, slot0, ih, iw, slot, gw, first, need, limit;

    wire reading = rows_in < H && rows_in < limit;
    wire writing = oh < OH && rows_in >= need;
    assign in_ready = reading;
    wire read = reading && in_valid;
    wire write = writing && (!out_valid || out_ready);
    wire in_frame = ih >= 0 && ih < H && iw >= 0 && iw < W;
    wire [AB-1:0] waddr = AB'((slot_in * W + x_in) * CW + c_in);
    wire [AB-1:0] raddr = AB'((slot * W + (in_frame ? iw : 0)) * CW + gw + cb);
    wire [SIMD*BITS-1:0] padding = {SIMD{BITS'(PAD)}};

    // the read side's next position (the counters of swg.h, innermost first)
    integer n_oh, n_ow, n_g, n_kh, n_kw, n_cb, n_ih0, n_iw0, n_slot0, n_ih, n_iw, n_slot, n_gw, n_first, n_need;
    integer n_limit;
    always @* begin
        n_oh = oh;
        n_ow = ow;
        n_g = g;
        n_kh = kh;
        n_kw = kw;
        n_cb = cb;
        n_ih0 = ih0;
        n_iw0 = iw0;
        n_slot0 = slot0;
        n_ih = ih;
        n_iw = iw;
        n_slot = slot;
        n_gw = gw;
        n_first = first;
        n_need = need;
        n_limit = limit;
        if (cb + 1 < CGW) n_cb = cb + 1;
        else begin
            n_cb = 0;
            if (kw + 1 < KW) begin
                n_kw = kw + 1;
                n_iw = iw + DW;
            end else begin
                n_kw = 0;
                n_iw = iw0;
                if (kh + 1 < KH) begin
                    n_kh = kh + 1;
                    n_ih = ih + DH;
                    n_slot = slot + DH >= NR ? slot + DH - NR : slot + DH;
                end else begin
                    n_kh = 0;
                    n_ih = ih0;
                    n_slot = slot0;
                    n_gw = gw + CGW;
                    if (g + 1 < G) n_g = g + 1;
                    else begin
                        n_g = 0;
                        n_gw = 0;
                        n_iw0 = iw0 + SW;
                        n_iw = n_iw0;
                        if (ow + 1 < OW) n_ow = ow + 1;
                        else begin
                            n_ow = 0;
                            n_iw0 = -PL;
                            n_iw = n_iw0;
                            n_oh = oh + 1;
                            n_ih0 = ih0 + SH;
                            n_ih = n_ih0;
                            n_slot0 = slot0 + SH >= NR ? slot0 + SH - NR : slot0 + SH;
                            n_slot = n_slot0;
                            n_first = n_ih0 > 0 ? n_ih0 : 0;
                            n_need = n_ih0 + SPAN < H ? n_ih0 + SPAN : H;
                            n_limit = n_oh < OH ? n_first + NR : H;
                        end
                    end
                end
            end
        end
    end

    // a finished frame (every row read, every window written) restarts the counters, as a reset does
    wire done = oh >= OH && rows_in >= H;

    always @(posedge clk) begin
        if (rst) out_valid <= 1'b0;
        else if (write) out_valid <= 1'b1;
        else if (out_valid && out_ready) out_valid <= 1'b0;
        if (rst || done) begin
            rows_in <= 0;
            slot_in <= 0;
            x_in <= 0;
            c_in <= 0;
            {oh, ow, g, kh, kw, cb, gw, first} <= 0;
            ih0 <= -PT;
            iw0 <= -PL;
            ih <= -PT;
            iw <= -PL;
            slot0 <= S0;
            slot <= S0;
            need <= SPAN - PT < H ? SPAN - PT : H;
            limit <= NR;
        end else begin
            if (read) begin
                mem[waddr] <= in_data;
                if (c_in + 1 < CW) c_in <= c_in + 1;
                else begin
                    c_in <= 0;
                    if (x_in + 1 < W) x_in <= x_in + 1;
                    else begin
                        x_in <= 0;
                        rows_in <= rows_in + 1;
                        slot_in <= slot_in + 1 == NR ? 0 : slot_in + 1;
                    end
                end
            end
            if (write) begin
                out_data <= in_frame ? mem[raddr] : padding;
                {oh, ow, g, kh, kw, cb} <= {n_oh, n_ow, n_g, n_kh, n_kw, n_cb};
                {ih0, iw0, slot0, ih, iw, slot, gw} <= {n_ih0, n_iw0, n_slot0, n_ih, n_iw, n_slot, n_gw};
                {first, need, limit} <= {n_first, n_need, n_limit};
            end
        end
    end
endmodule

`default_nettype wire
