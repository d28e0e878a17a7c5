// Sliding-window generator for convolutions (1D as H = 1), channels-last input stream.
//
// The input frame (H x W x C, NHWC order) is buffered as rows of SIMD consecutive elements (one wide memory word
// per row); for every output pixel the window is emitted as words of SIMD elements in the order (g, kh, kw, cg):
// group g (G groups of CG = C / G channels), kernel row, kernel column, then the group's channels -
// channel-minor, as FINN's generator. The matrix-vector unit's weight columns are stored in the same order.
// Positions outside the input are the padding code (the integer code of the value 0). Stride, dilation and
// asymmetric padding are supported.
//
// When the SIMD elements of every word lie at consecutive frame addresses (SIMD divides CG, or G = 1, no column
// dilation and a word covers whole pixels of one kernel row), a word spans at most two memory rows, read through
// the memory's two ports: one word per cycle. Otherwise every element is read from its own row.
#ifndef FPGAQ_SWG_H
#define FPGAQ_SWG_H

#include "types.h"

namespace fpgaq {

// The frame (NUM elements) into rows of SIMD elements. WIN divides SIMD (a row every SIMD / WIN words) or SIMD
// divides WIN (WIN / SIMD rows per word, one per cycle); one flattened loop.
template <typename T, int WIN, int SIMD, int NUM, int ROWS>
void read_rows(hls::stream<Vec<T, WIN> >& in, T mem[ROWS][SIMD]) {
    const int STEPS = WIN > SIMD ? WIN / SIMD : 1;
    Vec<T, WIN> word;
    T row[SIMD];
#pragma HLS ARRAY_PARTITION variable = row complete
    int filled = 0, r = 0, step = 0;
    for (int t = 0; t < NUM / WIN * STEPS; t++) {
#pragma HLS PIPELINE II = 1
        if (step == 0) word = in.read();
        if (WIN > SIMD) {
            for (int s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                mem[r][s] = word.v[step * SIMD + s];
            }
            r++;
        } else {
            for (int e = 0; e < WIN; e++) {
#pragma HLS UNROLL
                row[filled + e] = word.v[e];
            }
            filled += WIN;
            if (filled == SIMD || t == NUM / WIN - 1) {  // a full row, or the frame's last (partial) one
                for (int s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                    mem[r][s] = row[s];
                }
                r++;
                filled = 0;
            }
        }
        step = step + 1 == STEPS ? 0 : step + 1;
    }
}

// P: the window's configuration (generated): c, h, w, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, groups, win, simd,
// elem_t.
template <typename P>
void swg(hls::stream<Vec<typename P::elem_t, P::win> >& in, hls::stream<Vec<typename P::elem_t, P::simd> >& out,
         const typename P::elem_t pad) {
    typedef typename P::elem_t T;
    const int C = P::c, H = P::h, W = P::w, KH = P::kh, KW = P::kw, SH = P::sh, SW = P::sw, DH = P::dh, DW = P::dw;
    const int PT = P::pt, PL = P::pl, OH = P::oh, OW = P::ow, G = P::groups, WIN = P::win, SIMD = P::simd;
    const int CG = C / G;
    const int K = C * KH * KW;
    const int ROWS = (H * W * C + SIMD - 1) / SIMD;
    const bool contiguous = CG % SIMD == 0 || (G == 1 && DW == 1 && SIMD % C == 0 && KW % (SIMD / C) == 0);
    // addresses of padding positions may be negative: shift them by a multiple of SIMD before dividing
    const int SHIFT = ((PT * W + PL) * C + SIMD - 1) / SIMD * SIMD;
    T mem[ROWS][SIMD];
#pragma HLS ARRAY_RESHAPE variable = mem complete dim = 2
    read_rows<T, WIN, SIMD, H * W * C, ROWS>(in, mem);
    for (int oh = 0; oh < OH; oh++) {
        for (int ow = 0; ow < OW; ow++) {
            for (int k0 = 0; k0 < K; k0 += SIMD) {
#pragma HLS PIPELINE II = 1
                int address[SIMD];
                bool inside[SIMD];
                for (int s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                    const int k = k0 + s;
                    const int g = k / (KH * KW * CG);
                    const int r = k % (KH * KW * CG);
                    const int kh = r / (KW * CG);
                    const int kw = (r / CG) % KW;
                    const int c = g * CG + r % CG;
                    const int ih = oh * SH + kh * DH - PT;
                    const int iw = ow * SW + kw * DW - PL;
                    inside[s] = ih >= 0 && ih < H && iw >= 0 && iw < W;
                    address[s] = (ih * W + iw) * C + c;
                }
                Vec<T, SIMD> word;
                if (contiguous) {  // address[s] = address[0] + s: rows r0 and r0 + 1, from offset address[0] % SIMD
                    const int base = address[0] + SHIFT;
                    const int offset = base % SIMD;
                    int r0 = base / SIMD - SHIFT / SIMD;
                    int r1 = r0 + 1;
                    r0 = r0 < 0 ? 0 : (r0 >= ROWS ? ROWS - 1 : r0);
                    r1 = r1 < 0 ? 0 : (r1 >= ROWS ? ROWS - 1 : r1);
                    T both[2 * SIMD];
#pragma HLS ARRAY_PARTITION variable = both complete
                    for (int s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                        both[s] = mem[r0][s];
                        both[SIMD + s] = mem[r1][s];
                    }
                    for (int s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                        word.v[s] = inside[s] ? both[offset + s] : pad;
                    }
                } else {
                    for (int s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                        const int a = inside[s] ? address[s] : 0;
                        word.v[s] = inside[s] ? mem[a / SIMD][a % SIMD] : pad;
                    }
                }
                out.write(word);
            }
        }
    }
}

}  // namespace fpgaq

#endif
