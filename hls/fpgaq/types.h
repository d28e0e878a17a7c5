// Stream words and small helpers shared by every kernel.
#ifndef FPGAQ_TYPES_H
#define FPGAQ_TYPES_H

#include <ap_int.h>
#include <hls_stream.h>

namespace fpgaq {

// One stream word: N elements of type T, element 0 first in stream order.
template <typename T, int N>
struct Vec {
    T v[N];
};

// The wider type that holds both T and its negation (a threshold compares sign * x).
template <typename T>
struct Negatable {
    typedef ap_int<T::width + 1> type;
};

}  // namespace fpgaq

#endif
