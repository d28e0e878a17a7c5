// fpgaq HLS kernel library: streaming dataflow kernels over ap_int/ap_uint codes.
// Hand-written; the generated code only instantiates these templates with sizes, types and constants.
#ifndef FPGAQ_H
#define FPGAQ_H

#include "fpgaq/types.h"
#include "fpgaq/threshold.h"
#include "fpgaq/mvu.h"
#include "fpgaq/swg.h"
#include "fpgaq/pool.h"
#include "fpgaq/elementwise.h"
#include "fpgaq/streams.h"

#endif
