// Max and sum pooling: the reduction of the windows a sliding-window generator (swg.h) produces with G = C / L
// groups of L channels, so that each group's KH * KW window words of L lanes arrive one after another.
//
// Max pooling works on sign * x per channel (sign = -1 where the pooled value decreases with the code, e.g.
// after a negative batch-norm scale) and ignores padding, as ONNX pads with -inf: the position counters say
// which window words are padding. Sum pooling is average pooling before its division, which lives in the next
// threshold; its padding is the code of 0, supplied by the window generator.
//
// One window word per cycle, the running maximum or sum of L lanes in registers, one output word per window:
// OH * OW * (C / L) * KH * KW cycles per frame. Every index is a counter (no / or % of a loop variable).
#ifndef FPGAQ_POOL_H
#define FPGAQ_POOL_H

#include "types.h"

namespace fpgaq {

// P: the pool's configuration (generated): c, h, kh, kw, sh, dh, pt, w, sw, dw, pl, oh, ow, lanes, in_t, out_t.
// sign[e][g]: the sign of channel g * L + e (lanes first: lane e reads its own memory).
template <typename P>
void maxpool(hls::stream<Vec<typename P::in_t, P::lanes> >& in, hls::stream<Vec<typename P::out_t, P::lanes> >& out,
             const signed char sign[P::lanes][P::c / P::lanes]) {
    typedef typename P::in_t TI;
    typedef typename P::out_t TO;
    typedef typename Negatable<TI>::type TN;
    const int H = P::h, W = P::w, KH = P::kh, KW = P::kw, SH = P::sh, SW = P::sw, DH = P::dh, DW = P::dw;
    const int OH = P::oh, OW = P::ow, L = P::lanes, G = P::c / P::lanes;
    const int WORDS = OH * OW * G * KH * KW;
#ifdef FPGAQ_SIM_FAST_H
    if (fast::maxpool<P>(in, out, sign)) return;  // an untimed C-simulation: the same words, sooner
#endif
    TN best[L];
#pragma HLS ARRAY_PARTITION variable = best complete
    bool any = false;
    int kw = 0, kh = 0, g = 0, ow = 0;
    int ih0 = -P::pt, iw0 = -P::pl, ih = -P::pt, iw = -P::pl;
    for (int i = 0; i < WORDS; i++) {
#pragma HLS PIPELINE II = 1
        FPGAQ_CYCLE();
        const Vec<TI, L> word = in.read();
        const bool inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
        Vec<TO, L> result;
        for (int e = 0; e < L; e++) {
#pragma HLS UNROLL
            const TN y = sign[e][g] < 0 ? TN(-TN(word.v[e])) : TN(word.v[e]);
            const TN m = (inside && (!any || y > best[e])) ? y : best[e];
            best[e] = m;
            result.v[e] = TO(sign[e][g] < 0 ? TN(-m) : m);
        }
        any = any || inside;
        if (kh == KH - 1 && kw == KW - 1) {
            out.write(result);
            any = false;
        }
        if (++kw == KW) {
            kw = 0;
            iw = iw0;
            if (++kh == KH) {
                kh = 0;
                ih = ih0;
                if (++g == G) {
                    g = 0;
                    iw0 += SW;
                    iw = iw0;
                    if (++ow == OW) {
                        ow = 0;
                        iw0 = -P::pl;
                        iw = iw0;
                        ih0 += SH;
                        ih = ih0;
                    }
                }
            } else {
                ih += DH;
            }
        } else {
            iw += DW;
        }
    }
}

// P: c, kh, kw, oh, ow, lanes, id (the layer, for overflow reports), in_t, out_t.
template <typename P>
void sumpool(hls::stream<Vec<typename P::in_t, P::lanes> >& in, hls::stream<Vec<typename P::out_t, P::lanes> >& out) {
    typedef typename P::in_t TI;
    typedef typename P::out_t TO;
    const int L = P::lanes, G = P::c / P::lanes, WINDOW = P::kh * P::kw, WORDS = P::oh * P::ow * G * WINDOW;
    TO sum[L];
#pragma HLS ARRAY_PARTITION variable = sum complete
    FPGAQ_SHADOW(long long exact[L];)
    int k = 0, g = 0;
    for (int i = 0; i < WORDS; i++) {
#pragma HLS PIPELINE II = 1
        FPGAQ_CYCLE();
        const Vec<TI, L> word = in.read();
        Vec<TO, L> result;
        for (int e = 0; e < L; e++) {
#pragma HLS UNROLL
            const TO s = (k == 0 ? TO(0) : sum[e]) + word.v[e];
            FPGAQ_SHADOW(exact[e] = (k == 0 ? 0LL : exact[e]) + (long long)word.v[e];)
            FPGAQ_CHECK(s, exact[e], P::id, g * L + e);
            sum[e] = s;
            result.v[e] = s;
        }
        if (k == WINDOW - 1) {
            out.write(result);
            k = 0;
            g = g + 1 == G ? 0 : g + 1;
        } else {
            k++;
        }
    }
}

// Global pooling (the window is the whole frame, no padding): the frame streams in channels-last order, words of
// L channels, and a running maximum or sum per channel is kept in registers (C values); the last pixel's words
// leave as they are folded in. H * W * C / L cycles per frame, no frame or line buffer.
// P: c, pixels (H * W), lanes, id, in_t, out_t; sign[e][g] as maxpool's.
template <typename P>
void global_maxpool(hls::stream<Vec<typename P::in_t, P::lanes> >& in,
                    hls::stream<Vec<typename P::out_t, P::lanes> >& out,
                    const signed char sign[P::lanes][P::c / P::lanes]) {
    typedef typename P::in_t TI;
    typedef typename P::out_t TO;
    typedef typename Negatable<TI>::type TN;
    const int L = P::lanes, G = P::c / P::lanes, LAST = P::pixels - 1, WORDS = P::pixels * G;
    TN best[G][L];
#pragma HLS ARRAY_PARTITION variable = best complete dim = 0
    int g = 0, pixel = 0;
    for (int i = 0; i < WORDS; i++) {
#pragma HLS PIPELINE II = 1
        FPGAQ_CYCLE();
        const Vec<TI, L> word = in.read();
        Vec<TO, L> result;
        for (int e = 0; e < L; e++) {
#pragma HLS UNROLL
            const TN y = sign[e][g] < 0 ? TN(-TN(word.v[e])) : TN(word.v[e]);
            const TN m = (pixel == 0 || y > best[g][e]) ? y : best[g][e];
            best[g][e] = m;
            result.v[e] = TO(sign[e][g] < 0 ? TN(-m) : m);
        }
        if (pixel == LAST) out.write(result);
        if (++g == G) {
            g = 0;
            pixel++;
        }
    }
}

template <typename P>
void global_sumpool(hls::stream<Vec<typename P::in_t, P::lanes> >& in,
                    hls::stream<Vec<typename P::out_t, P::lanes> >& out) {
    typedef typename P::in_t TI;
    typedef typename P::out_t TO;
    const int L = P::lanes, G = P::c / P::lanes, LAST = P::pixels - 1, WORDS = P::pixels * G;
    TO sum[G][L];
#pragma HLS ARRAY_PARTITION variable = sum complete dim = 0
    FPGAQ_SHADOW(long long exact[G][L];)
    int g = 0, pixel = 0;
    for (int i = 0; i < WORDS; i++) {
#pragma HLS PIPELINE II = 1
        FPGAQ_CYCLE();
        const Vec<TI, L> word = in.read();
        Vec<TO, L> result;
        for (int e = 0; e < L; e++) {
#pragma HLS UNROLL
            const TO s = (pixel == 0 ? TO(0) : sum[g][e]) + word.v[e];
            FPGAQ_SHADOW(exact[g][e] = (pixel == 0 ? 0LL : exact[g][e]) + (long long)word.v[e];)
            FPGAQ_CHECK(s, exact[g][e], P::id, g * L + e);
            sum[g][e] = s;
            result.v[e] = s;
        }
        if (pixel == LAST) out.write(result);
        if (++g == G) {
            g = 0;
            pixel++;
        }
    }
}

}  // namespace fpgaq

#endif
