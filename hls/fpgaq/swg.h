// Sliding-window generator for convolutions (1D as H = 1), channels-last input stream.
//
// The input frame (H x W x C, NHWC order) is buffered; for every output pixel the window is emitted in
// input-channel-major order (c, kh, kw) - the order of a conv weight row [IC, KH, KW], which the matrix-vector
// unit and the tiled accumulator bounds use - as words of SIMD elements. Positions outside the input are the
// padding code (the integer code of the value 0). Stride, dilation and asymmetric padding are supported.
#ifndef FPGAQ_SWG_H
#define FPGAQ_SWG_H

#include "types.h"

namespace fpgaq {

template <typename T, int WIN, int NUM>
void read_frame(hls::stream<Vec<T, WIN> >& in, T buf[NUM]) {
    for (int i = 0; i < NUM / WIN; i++) {
#pragma HLS PIPELINE II = 1
        Vec<T, WIN> word = in.read();
        for (int e = 0; e < WIN; e++) {
#pragma HLS UNROLL
            buf[i * WIN + e] = word.v[e];
        }
    }
}

template <int C, int H, int W, int KH, int KW, int SH, int SW, int DH, int DW, int PT, int PL, int OH, int OW,
          int WIN, int SIMD, typename T>
void swg(hls::stream<Vec<T, WIN> >& in, hls::stream<Vec<T, SIMD> >& out, const T pad) {
    T buf[H * W * C];
    read_frame<T, WIN, H * W * C>(in, buf);
    const int K = C * KH * KW;
    for (int oh = 0; oh < OH; oh++) {
        for (int ow = 0; ow < OW; ow++) {
            for (int k0 = 0; k0 < K; k0 += SIMD) {
#pragma HLS PIPELINE II = 1
                Vec<T, SIMD> word;
                for (int s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                    const int k = k0 + s;
                    const int c = k / (KH * KW);
                    const int kh = (k / KW) % KH;
                    const int kw = k % KW;
                    const int ih = oh * SH + kh * DH - PT;
                    const int iw = ow * SW + kw * DW - PL;
                    const bool inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
                    word.v[s] = inside ? buf[(ih * W + iw) * C + c] : pad;
                }
                out.write(word);
            }
        }
    }
}

}  // namespace fpgaq

#endif
