// Max and sum pooling over a channels-last frame; output channels-last, one element per word.
//
// Max pooling works on sign * x per channel (sign = -1 where the pooled value decreases with the code, e.g.
// after a negative batch-norm scale) and ignores padding, as ONNX pads with -inf. Sum pooling is average
// pooling before its division, which lives in the next threshold; padding adds the code of 0.
#ifndef FPGAQ_POOL_H
#define FPGAQ_POOL_H

#include "swg.h"

namespace fpgaq {

template <int C, int H, int W, int KH, int KW, int SH, int SW, int DH, int DW, int PT, int PL, int OH, int OW,
          int WIN, typename TI, typename TO>
void maxpool(hls::stream<Vec<TI, WIN> >& in, hls::stream<Vec<TO, 1> >& out, const signed char sign[C]) {
    TI buf[H * W * C];
    read_frame<TI, WIN, H * W * C>(in, buf);
    for (int oh = 0; oh < OH; oh++) {
        for (int ow = 0; ow < OW; ow++) {
            for (int c = 0; c < C; c++) {
#pragma HLS PIPELINE II = 1
                typename Negatable<TI>::type best = 0;
                bool first = true;
                for (int kh = 0; kh < KH; kh++) {
                    for (int kw = 0; kw < KW; kw++) {
                        const int ih = oh * SH + kh * DH - PT;
                        const int iw = ow * SW + kw * DW - PL;
                        if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
                            typename Negatable<TI>::type y = buf[(ih * W + iw) * C + c];
                            if (sign[c] < 0) y = -y;
                            if (first || y > best) best = y;
                            first = false;
                        }
                    }
                }
                Vec<TO, 1> word;
                word.v[0] = TO(sign[c] < 0 ? typename Negatable<TI>::type(-best) : best);
                out.write(word);
            }
        }
    }
}

template <int ID, int C, int H, int W, int KH, int KW, int SH, int SW, int PT, int PL, int OH, int OW, int WIN,
          typename TI, typename TO>
void sumpool(hls::stream<Vec<TI, WIN> >& in, hls::stream<Vec<TO, 1> >& out, const TI pad) {
    TI buf[H * W * C];
    read_frame<TI, WIN, H * W * C>(in, buf);
    for (int oh = 0; oh < OH; oh++) {
        for (int ow = 0; ow < OW; ow++) {
            for (int c = 0; c < C; c++) {
#pragma HLS PIPELINE II = 1
                TO sum = 0;
                FPGAQ_SHADOW(long long exact = 0;)
                for (int kh = 0; kh < KH; kh++) {
                    for (int kw = 0; kw < KW; kw++) {
                        const int ih = oh * SH + kh - PT;
                        const int iw = ow * SW + kw - PL;
                        const bool inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
                        const TI value = inside ? buf[(ih * W + iw) * C + c] : pad;
                        sum += value;
                        FPGAQ_SHADOW(exact += (long long)value;)
                        FPGAQ_CHECK(sum, exact, ID, c);
                    }
                }
                Vec<TO, 1> word;
                word.v[0] = sum;
                out.write(word);
            }
        }
    }
}

}  // namespace fpgaq

#endif
