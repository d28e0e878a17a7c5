// Max and sum pooling over a channels-last frame; output channels-last, L channels per word.
//
// Max pooling works on sign * x per channel (sign = -1 where the pooled value decreases with the code, e.g.
// after a negative batch-norm scale) and ignores padding, as ONNX pads with -inf. Sum pooling is average
// pooling before its division, which lives in the next threshold; padding adds the code of 0.
//
// The frame is buffered in KH * KW banks of L-channel words: pixel (ih, iw) in bank (ih % KH) * KW + iw % KW,
// channels c0 .. c0 + L - 1 in one word. A window of KH x KW neighbouring pixels (no dilation) touches every bank
// once, so one word of L outputs leaves per cycle, and one input word of L channels enters per cycle (L divides C).
#ifndef FPGAQ_POOL_H
#define FPGAQ_POOL_H

#include "types.h"

namespace fpgaq {

template <int C, int H, int W, int KH, int KW, int L, typename T>
struct PoolFrame {
    static const int WB = (W + KW - 1) / KW;
    static const int ROWS = ((H + KH - 1) / KH) * WB * (C / L);
    static int bank(int ih, int iw) { return (ih % KH) * KW + iw % KW; }
    static int row(int ih, int iw, int c0) { return ((ih / KH) * WB + iw / KW) * (C / L) + c0 / L; }
};

template <int C, int H, int W, int KH, int KW, int L, typename T, int ROWS>
void read_pool_frame(hls::stream<Vec<T, L> >& in, T buf[KH * KW][L][ROWS]) {
    typedef PoolFrame<C, H, W, KH, KW, L, T> F;
    for (int i = 0; i < H * W * C / L; i++) {
#pragma HLS PIPELINE II = 1
        Vec<T, L> word = in.read();
        const int pixel = i / (C / L);
        const int c0 = (i % (C / L)) * L;
        const int ih = pixel / W, iw = pixel % W;
        for (int e = 0; e < L; e++) {
#pragma HLS UNROLL
            buf[F::bank(ih, iw)][e][F::row(ih, iw, c0)] = word.v[e];
        }
    }
}

// P: the pool's configuration (generated): c, h, w, kh, kw, sh, sw, dh, dw, pt, pl, oh, ow, lanes, in_t, out_t.
template <typename P>
void maxpool(hls::stream<Vec<typename P::in_t, P::lanes> >& in, hls::stream<Vec<typename P::out_t, P::lanes> >& out,
             const signed char sign[P::c]) {
    typedef typename P::in_t TI;
    typedef typename P::out_t TO;
    const int C = P::c, H = P::h, W = P::w, KH = P::kh, KW = P::kw, SH = P::sh, SW = P::sw, DH = P::dh, DW = P::dw;
    const int PT = P::pt, PL = P::pl, OH = P::oh, OW = P::ow, L = P::lanes;
    typedef PoolFrame<P::c, P::h, P::w, P::kh, P::kw, P::lanes, TI> F;
    TI buf[KH * KW][L][F::ROWS];
#pragma HLS ARRAY_PARTITION variable = buf complete dim = 1
#pragma HLS ARRAY_RESHAPE variable = buf complete dim = 2
    read_pool_frame<C, H, W, KH, KW, L, TI, F::ROWS>(in, buf);
    for (int oh = 0; oh < OH; oh++) {
        for (int ow = 0; ow < OW; ow++) {
            for (int c0 = 0; c0 < C; c0 += L) {
#pragma HLS PIPELINE II = 1
                Vec<TO, L> word;
                for (int e = 0; e < L; e++) {
#pragma HLS UNROLL
                    const int c = c0 + e;
                    typename Negatable<TI>::type best = 0;
                    bool first = true;
                    for (int kh = 0; kh < KH; kh++) {
                        for (int kw = 0; kw < KW; kw++) {
                            const int ih = oh * SH + kh * DH - PT;
                            const int iw = ow * SW + kw * DW - PL;
                            if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
                                typename Negatable<TI>::type y = buf[F::bank(ih, iw)][e][F::row(ih, iw, c0)];
                                if (sign[c] < 0) y = -y;
                                if (first || y > best) best = y;
                                first = false;
                            }
                        }
                    }
                    word.v[e] = TO(sign[c] < 0 ? typename Negatable<TI>::type(-best) : best);
                }
                out.write(word);
            }
        }
    }
}

// P: as maxpool's, plus id (the layer, for overflow reports); no dilation.
template <typename P>
void sumpool(hls::stream<Vec<typename P::in_t, P::lanes> >& in, hls::stream<Vec<typename P::out_t, P::lanes> >& out,
             const typename P::in_t pad) {
    typedef typename P::in_t TI;
    typedef typename P::out_t TO;
    const int C = P::c, H = P::h, W = P::w, KH = P::kh, KW = P::kw, SH = P::sh, SW = P::sw;
    const int PT = P::pt, PL = P::pl, OH = P::oh, OW = P::ow, L = P::lanes;
    typedef PoolFrame<P::c, P::h, P::w, P::kh, P::kw, P::lanes, TI> F;
    TI buf[KH * KW][L][F::ROWS];
#pragma HLS ARRAY_PARTITION variable = buf complete dim = 1
#pragma HLS ARRAY_RESHAPE variable = buf complete dim = 2
    read_pool_frame<C, H, W, KH, KW, L, TI, F::ROWS>(in, buf);
    for (int oh = 0; oh < OH; oh++) {
        for (int ow = 0; ow < OW; ow++) {
            for (int c0 = 0; c0 < C; c0 += L) {
#pragma HLS PIPELINE II = 1
                Vec<TO, L> word;
                for (int e = 0; e < L; e++) {
#pragma HLS UNROLL
                    TO sum = 0;
                    FPGAQ_SHADOW(long long exact = 0;)
                    for (int kh = 0; kh < KH; kh++) {
                        for (int kw = 0; kw < KW; kw++) {
                            const int ih = oh * SH + kh - PT;
                            const int iw = ow * SW + kw - PL;
                            const bool inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
                            const TI value = inside ? buf[F::bank(ih, iw)][e][F::row(ih, iw, c0)] : pad;
                            sum += value;
                            FPGAQ_SHADOW(exact += (long long)value;)
                            FPGAQ_CHECK(sum, exact, P::id, c0 + e);
                        }
                    }
                    word.v[e] = sum;
                }
                out.write(word);
            }
        }
    }
}

}  // namespace fpgaq

#endif
