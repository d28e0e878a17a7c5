// Streaming matrix-vector unit with PE (output channels in parallel) and SIMD (inputs in parallel) folding.
//
// Computes NV vectors per frame. The weight matrix is split into G groups (grouped and depthwise
// convolutions; G = 1 for dense layers): output channel o = g * OCG + j uses inputs g * KG .. g * KG + KG - 1.
// Weights are stored w[fold][PE * SIMD] with fold = (g * NF + nf) * SF + sf, NF = OCG / PE, SF = KG / SIMD: one
// memory word of PE * SIMD weights per fold, read in one cycle at a counter. Per-channel tables (bias,
// thresholds) are laid out [PE][G * NF]: lane p reads only its own memory, at the neuron-fold counter, so any PE
// runs at one fold per cycle (finn-hlslib's layout).
// The input vector arrives as G * SF words of SIMD elements (group order). On the first neuron fold of a group a
// word is used straight from the stream and kept in a buffer of SF words; the other neuron folds reread it
// (finn-hlslib's inputBuf): one buffer access per cycle, a write or a read.
// Depthwise (C::dw, FINN's vector-vector unit): G blocks of PE channels, NF = 1, words of IN_W = PE * SIMD
// elements, element s * PE + p being kernel position s of the block's channel p, used by lane p only.
// Bipolar layers (C::bipolar) store each +-1 weight as one bit (1: +1, 0: -1): a product is the input or its
// negation, no multiplier (FINN computes the same layers as XNOR-popcount).
// Multi-stage accumulation: the SIMD products of one fold are summed in TS (the inner width, from the exact
// range of one tile of weights), then added to the running accumulator TA (the outer width, from the exact
// range of every prefix of tiles, bias included). Both widths come from fpgaq.bounds, so neither overflows;
// with -DFPGAQ_CHECK_OVERFLOW both are shadowed by exact sums and checked (C::id: the layer, for the report).
#ifndef FPGAQ_MVU_H
#define FPGAQ_MVU_H

#include "threshold.h"

namespace fpgaq {

// The body shared by both units; `act(acc, p, f)` maps lane p's accumulator of neuron fold f to its output.
template <typename C, typename Act>
void mvu_body(hls::stream<Vec<typename C::in_t, C::in_w> >& in, hls::stream<Vec<typename C::out_t, C::pe> >& out,
              const typename C::weight_t w[C::g * (C::ocg / C::pe) * (C::kg / C::simd)][C::pe * C::simd],
              const typename C::bias_t bias[C::pe][C::g * (C::ocg / C::pe)], const Act& act) {
#pragma HLS INLINE
    typedef typename C::in_t TI;
    typedef typename C::inner_t TS;
    typedef typename C::outer_t TA;
    typedef typename C::out_t TO;
    const int NV = C::nv, G = C::g, SIMD = C::simd, PE = C::pe, IN_W = C::in_w;
    const int SF = C::kg / SIMD, NF = C::ocg / PE, FOLDS = G * NF * SF;
#ifdef FPGAQ_SIM_FAST_H
    if (fast::mvu<C>(in, out, w, bias, act)) return;  // an untimed C-simulation: the same values, sooner
#endif
    TI buf[SF][IN_W];
#pragma HLS ARRAY_RESHAPE variable = buf complete dim = 2
    TA acc[PE];
#pragma HLS ARRAY_PARTITION variable = acc complete
    FPGAQ_SHADOW(long long acc_exact[PE];)
    // One flattened loop over (v, g, nf, sf): one fold per cycle, NV * G * NF * SF cycles per frame.
    int sf = 0, nf = 0, f = 0, fold = 0;  // f = g * NF + nf (the neuron fold), fold = f * SF + sf
    for (int i = 0; i < NV * FOLDS; i++) {
#pragma HLS PIPELINE II = 1
        FPGAQ_CYCLE();
        Vec<TI, IN_W> x;
        if (nf == 0) {
            x = in.read();
            for (int s = 0; s < IN_W; s++) {
#pragma HLS UNROLL
                if (NF > 1) buf[sf][s] = x.v[s];  // kept only when another neuron fold rereads it
            }
        } else {
            for (int s = 0; s < IN_W; s++) {
#pragma HLS UNROLL
                x.v[s] = buf[sf][s];
            }
        }
        Vec<TO, PE> result;
        for (int p = 0; p < PE; p++) {
#pragma HLS UNROLL
            typename Sum<TS>::type tile = 0;  // TS, or in a native C-simulation 64 bits stored into TS once
            FPGAQ_SHADOW(long long tile_exact = 0;)
            for (int s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                const TI xs = x.v[C::dw ? s * PE + p : s];  // a depthwise lane reads only its own channel
                const typename C::weight_t ws = w[fold][p * SIMD + s];
                if (C::bipolar) {
                    tile += bipolar_term<TS>(ws, xs);  // a +-1 weight of one bit: the input or its negation
                } else {
                    tile += ws * xs;
                }
                FPGAQ_SHADOW(tile_exact += (C::bipolar ? (ws ? 1LL : -1LL) : (long long)ws) * (long long)xs;)
                FPGAQ_CHECK(tile, tile_exact, C::id, f * PE + p);
            }
            TA sum = (sf == 0) ? TA(bias[p][f]) : acc[p];
            sum += TS(tile);
            FPGAQ_SHADOW(acc_exact[p] = (sf == 0 ? (long long)bias[p][f] : acc_exact[p]) + tile_exact;)
            FPGAQ_CHECK(sum, acc_exact[p], C::id, f * PE + p);
            acc[p] = sum;
            if (sf == SF - 1) result.v[p] = act(sum, p, f);  // the neuron fold's last tile: its output
        }
        if (sf == SF - 1) out.write(result);
        fold = fold + 1 == FOLDS ? 0 : fold + 1;
        if (++sf == SF) {
            sf = 0;
            f = f + 1 == G * NF ? 0 : f + 1;
            nf = nf + 1 == NF ? 0 : nf + 1;
        }
    }
}

template <typename C>
struct Identity {
    template <typename TA>
    typename C::out_t operator()(const TA& acc, int, int) const {
#pragma HLS INLINE
        return typename C::out_t(acc);
    }
};

// Built inside the process from its table arguments (never passed into a dataflow process) and inlined.
template <typename C>
struct Thresholds {
    const typename C::thr_t (*t)[C::g * (C::ocg / C::pe)][C::levels];
    const bool (*negate)[C::g * (C::ocg / C::pe)];
    template <typename TA>
    typename C::out_t operator()(const TA& acc, int p, int f) const {
#pragma HLS INLINE
        return typename C::out_t(C::base + (int)crossed<C::levels>(t[p][f], negate[p][f], acc));
    }
};

template <typename C>
struct Requantizer {
    const typename C::mult_t (*m)[C::g * (C::ocg / C::pe)];
    const typename C::offset_t (*b)[C::g * (C::ocg / C::pe)];
    const bool (*negate)[C::g * (C::ocg / C::pe)];
    template <typename TA>
    typename C::out_t operator()(const TA& acc, int p, int f) const {
#pragma HLS INLINE
        const unsigned count =
            requantized<C::shift, C::levels, typename C::prod_t>(m[p][f], b[p][f], negate[p][f], acc);
        return typename C::out_t(C::base + (int)count);
    }
};

// C: the layer's configuration (generated): id, nv, g, kg, ocg, simd, pe and the types in_t, weight_t, bias_t,
// inner_t (TS), outer_t (TA), out_t.
template <typename C>
void mvu(hls::stream<Vec<typename C::in_t, C::in_w> >& in, hls::stream<Vec<typename C::out_t, C::pe> >& out,
         const typename C::weight_t w[C::g * (C::ocg / C::pe) * (C::kg / C::simd)][C::pe * C::simd],
         const typename C::bias_t bias[C::pe][C::g * (C::ocg / C::pe)]) {
    mvu_body<C>(in, out, w, bias, Identity<C>());
}

// The unit with a fused multi-threshold activation: C as mvu's, plus levels, base and thr_t; thresholds and
// negation flags [PE][G * NF] as the bias.
template <typename C>
void mvu_threshold(hls::stream<Vec<typename C::in_t, C::in_w> >& in, hls::stream<Vec<typename C::out_t, C::pe> >& out,
                   const typename C::weight_t w[C::g * (C::ocg / C::pe) * (C::kg / C::simd)][C::pe * C::simd],
                   const typename C::bias_t bias[C::pe][C::g * (C::ocg / C::pe)],
                   const typename C::thr_t t[C::pe][C::g * (C::ocg / C::pe)][C::levels],
                   const bool negate[C::pe][C::g * (C::ocg / C::pe)]) {
    const Thresholds<C> act = {t, negate};
    mvu_body<C>(in, out, w, bias, act);
}

// The unit with a fused exact requantizer: C as mvu's, plus levels, shift, base, mult_t, offset_t, prod_t;
// multipliers, offsets and negation flags [PE][G * NF] as the bias.
template <typename C>
void mvu_requant(hls::stream<Vec<typename C::in_t, C::in_w> >& in, hls::stream<Vec<typename C::out_t, C::pe> >& out,
                 const typename C::weight_t w[C::g * (C::ocg / C::pe) * (C::kg / C::simd)][C::pe * C::simd],
                 const typename C::bias_t bias[C::pe][C::g * (C::ocg / C::pe)],
                 const typename C::mult_t m[C::pe][C::g * (C::ocg / C::pe)],
                 const typename C::offset_t b[C::pe][C::g * (C::ocg / C::pe)],
                 const bool negate[C::pe][C::g * (C::ocg / C::pe)]) {
    const Requantizer<C> act = {m, b, negate};
    mvu_body<C>(in, out, w, bias, act);
}

}  // namespace fpgaq

#endif
