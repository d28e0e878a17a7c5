// Streaming matrix-vector unit with PE (output channels in parallel) and SIMD (inputs in parallel) folding.
//
// Computes NV vectors per frame. The weight matrix is split into G groups (grouped and depthwise
// convolutions; G = 1 for dense layers): output channel o = g * OCG + j uses inputs g * KG .. g * KG + KG - 1.
// Weights are stored w[fold][PE * SIMD] with fold = (g * NF + nf) * SF + sf, NF = OCG / PE, SF = KG / SIMD: one
// memory word of PE * SIMD weights per fold (the top level reshapes the second dimension), read in one cycle. The input vector arrives as
// G * SF words of SIMD elements (group order), is buffered on the first neuron fold of its group and reused.
// Multi-stage accumulation: the SIMD products of one fold are summed in TS (the inner width, from the exact
// range of one tile of weights), then added to the running accumulator TA (the outer width, from the exact
// range of every prefix of tiles, bias included). Both widths come from fpgaq.bounds, so neither overflows;
// with -DFPGAQ_CHECK_OVERFLOW both are shadowed by exact sums and checked (C::id: the layer, for the report).
#ifndef FPGAQ_MVU_H
#define FPGAQ_MVU_H

#include "threshold.h"

namespace fpgaq {

// C: the layer's configuration (generated): id, nv, g, kg, ocg, simd, pe and the types in_t, weight_t, bias_t,
// inner_t (TS), outer_t (TA), out_t and act_t.
template <typename C>
void mvu(hls::stream<Vec<typename C::in_t, C::simd> >& in, hls::stream<Vec<typename C::out_t, C::pe> >& out,
         const typename C::weight_t w[C::g * (C::ocg / C::pe) * (C::kg / C::simd)][C::pe * C::simd],
         const typename C::bias_t bias[C::g * C::ocg], const typename C::act_t& act) {
    typedef typename C::in_t TI;
    typedef typename C::inner_t TS;
    typedef typename C::outer_t TA;
    typedef typename C::out_t TO;
    const int NV = C::nv, G = C::g, KG = C::kg, OCG = C::ocg, SIMD = C::simd, PE = C::pe;
    const int SF = KG / SIMD;
    const int NF = OCG / PE;
    TI buf[G * SF][SIMD];
#pragma HLS ARRAY_PARTITION variable = buf complete dim = 2
    TA acc[PE];
#pragma HLS ARRAY_PARTITION variable = acc complete
    FPGAQ_SHADOW(long long acc_exact[PE];)
    // One flattened loop over (v, g, nf, sf): one fold per cycle, NV * G * NF * SF cycles per frame.
    int sf = 0, nf = 0, g = 0;
    for (int i = 0; i < NV * G * NF * SF; i++) {
#pragma HLS PIPELINE II = 1
        if (nf == 0) {
            Vec<TI, SIMD> word = in.read();
            for (int s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                buf[g * SF + sf][s] = word.v[s];
            }
        }
        const int fold = (g * NF + nf) * SF + sf;
        Vec<TO, PE> result;
        for (int p = 0; p < PE; p++) {
#pragma HLS UNROLL
            const int channel = (g * NF + nf) * PE + p;
            TS tile = 0;
            FPGAQ_SHADOW(long long tile_exact = 0;)
            for (int s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                tile += w[fold][p * SIMD + s] * buf[g * SF + sf][s];
                FPGAQ_SHADOW(tile_exact += (long long)w[fold][p * SIMD + s] * (long long)buf[g * SF + sf][s];)
                FPGAQ_CHECK(tile, tile_exact, C::id, channel);
            }
            TA sum = (sf == 0) ? TA(bias[channel]) : acc[p];
            sum += tile;
            FPGAQ_SHADOW(acc_exact[p] = (sf == 0 ? (long long)bias[channel] : acc_exact[p]) + tile_exact;)
            FPGAQ_CHECK(sum, acc_exact[p], C::id, channel);
            acc[p] = sum;
            if (sf == SF - 1) result.v[p] = act.template apply<TO>(sum, channel);
        }
        if (sf == SF - 1) out.write(result);
        if (++sf == SF) {
            sf = 0;
            if (++nf == NF) {
                nf = 0;
                if (++g == G) g = 0;
            }
        }
    }
}

}  // namespace fpgaq

#endif
