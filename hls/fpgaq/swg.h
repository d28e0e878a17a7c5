// Sliding-window generator with a line buffer (convolutions and pooling; 1D as H = 1), channels-last streams.
//
// Input: the frame (H x W x C, NHWC) in words of SIMD channels of one pixel. Output: for every output pixel the
// window as words of SIMD channels in the order (g, kh, kw, cg): group g (G groups of CG = C / G channels; SIMD
// divides CG), kernel row, kernel column, then the group's channels - channel-minor, as FINN's generator and the
// matrix-vector unit's weight columns. Positions outside the input are the padding code `pad`.
//
// Memory: NR = SPAN + SH rows of W pixels, SPAN = (KH - 1) * DH + 1 the rows one window spans: row ih lives in
// slot ih mod NR. One flattened loop reads at most one input word and writes at most one window word per cycle:
// it reads while the row it fills is no longer needed (rows_in < first + NR, first = the window's top row), and
// writes output row oh once its last row is complete (rows_in >= need). The SH extra rows let the next window
// rows arrive while the current windows leave (FINN keeps K/S + 1 row blocks for the same reason), so the
// memory grows with the width of the image, never its area. The read and the written row never share a slot.
// Every index is a counter (no / or % of a loop variable); one memory word read and one written per cycle.
// The cycle count is that of fpgaq.estimate.models.swg_schedule, which replays this loop row by row.
#ifndef FPGAQ_SWG_H
#define FPGAQ_SWG_H

#include "types.h"

namespace fpgaq {

// P: the window's configuration (generated): c, h, w, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, groups, simd,
// rows (NR), elem_t.
template <typename P>
void swg(hls::stream<Vec<typename P::elem_t, P::simd> >& in, hls::stream<Vec<typename P::elem_t, P::simd> >& out,
         const typename P::elem_t pad) {
#ifdef FPGAQ_SIM_FAST_H
    if (fast::swg<P>(in, out, pad)) return;  // an untimed C-simulation: the same words, sooner
#endif
    typedef typename P::elem_t T;
    const int H = P::h, W = P::w, KH = P::kh, KW = P::kw, SH = P::sh, SW = P::sw, DH = P::dh, DW = P::dw;
    const int PT = P::pt, PL = P::pl, OH = P::oh, OW = P::ow, G = P::groups, SIMD = P::simd, NR = P::rows;
    const int CW = P::c / SIMD;             // words per pixel
    const int CGW = P::c / G / SIMD;        // words per pixel and group
    const int SPAN = (KH - 1) * DH + 1;     // rows one window spans
    const int S0 = ((-PT) % NR + NR) % NR;  // the slot of row -PT (compile-time constant)
    T mem[NR][W][CW][SIMD];  // one memory word of SIMD lanes per (slot, pixel, channel word)
#pragma HLS ARRAY_RESHAPE variable = mem complete dim = 4
#pragma HLS BIND_STORAGE variable = mem type = ram_s2p
#pragma HLS DEPENDENCE variable = mem inter false
#pragma HLS DEPENDENCE variable = mem intra false
    // write side: the row being filled
    int rows_in = 0, slot_in = 0, x_in = 0, c_in = 0;
    // read side: output pixel (oh, ow); window position (g, kh, kw, cb); ih0 / iw0 the window's top-left
    int oh = 0, ow = 0, g = 0, kh = 0, kw = 0, cb = 0;
    int ih0 = -PT, iw0 = -PL, slot0 = S0;  // slot0: the slot of row ih0
    int ih = -PT, iw = -PL, slot = S0, gw = 0;
    int first = 0, need = SPAN - PT < H ? SPAN - PT : H;  // rows [first, need) of output row oh
    int limit = NR;                                      // rows_in < limit: the slot being filled is free
    while (rows_in < H || oh < OH) {
#pragma HLS PIPELINE II = 1
        FPGAQ_CYCLE();
        const bool reading = rows_in < H && rows_in < limit;
        const bool writing = oh < OH && rows_in >= need;
        if (reading) {
            const Vec<T, SIMD> word = in.read();
            for (int s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                mem[slot_in][x_in][c_in][s] = word.v[s];
            }
            if (++c_in == CW) {
                c_in = 0;
                if (++x_in == W) {
                    x_in = 0;
                    rows_in++;
                    slot_in = slot_in + 1 == NR ? 0 : slot_in + 1;
                }
            }
        }
        if (writing) {
            const bool inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
            const int x = inside ? iw : 0;
            Vec<T, SIMD> word;
            for (int s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                word.v[s] = inside ? mem[slot][x][gw + cb][s] : pad;
            }
            out.write(word);
            // advance (cb, kw, kh, g, ow, oh), innermost first
            if (++cb == CGW) {
                cb = 0;
                if (++kw == KW) {
                    kw = 0;
                    iw = iw0;
                    if (++kh == KH) {
                        kh = 0;
                        ih = ih0;
                        slot = slot0;
                        gw += CGW;
                        if (++g == G) {
                            g = 0;
                            gw = 0;
                            iw0 += SW;
                            iw = iw0;
                            if (++ow == OW) {
                                ow = 0;
                                iw0 = -PL;
                                iw = iw0;
                                oh++;
                                ih0 += SH;
                                ih = ih0;
                                slot0 = slot0 + SH >= NR ? slot0 + SH - NR : slot0 + SH;
                                slot = slot0;
                                first = ih0 > 0 ? ih0 : 0;
                                need = ih0 + SPAN < H ? ih0 + SPAN : H;
                                limit = oh < OH ? first + NR : H;
                            }
                        }
                    } else {
                        ih += DH;
                        slot = slot + DH >= NR ? slot + DH - NR : slot + DH;
                    }
                } else {
                    iw += DW;
                }
            }
        }
    }
}

}  // namespace fpgaq

#endif
