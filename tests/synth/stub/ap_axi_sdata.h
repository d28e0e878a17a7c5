// A test stand-in for Vitis HLS's ap_axi_sdata.h (not the vendor header): just the ap_axiu fields that
// templates/top_axi.cpp.j2 uses, so its TLAST logic can be compiled and checked with g++ here.
#ifndef FPGAQ_TEST_AP_AXI_SDATA_H
#define FPGAQ_TEST_AP_AXI_SDATA_H
#include <ap_int.h>

template <int D, int U, int TI, int TD>
struct ap_axiu {
    ap_uint<D> data;
    ap_uint<(D + 7) / 8> keep;
    ap_uint<(D + 7) / 8> strb;
    ap_uint<1> last;
};

#endif
