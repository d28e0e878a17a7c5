// Stream words and small helpers shared by every kernel.
#ifndef FPGAQ_TYPES_H
#define FPGAQ_TYPES_H

#include <ap_int.h>
#include <hls_stream.h>
#if defined(FPGAQ_NATIVE) && !defined(__SYNTHESIS__)
#include <type_traits>
#endif

namespace fpgaq {

// One stream word: N elements of type T, element 0 first in stream order.
template <typename T, int N>
struct Vec {
    T v[N];
};

// The integer types of every stream element, accumulator and product: int_t<W> and uint_t<W>. In synthesis (and by
// default) they are ap_int<W> and ap_uint<W>. A C-simulation compiled with -DFPGAQ_NATIVE computes with Native<W, S>
// instead: a 64-bit integer wrapped to W bits (two's complement, or masked) whenever a value is stored, as ap_int
// stores it. Arithmetic on stored values happens in 64 bits, so it is exact wherever every intermediate value fits in
// 63 bits: the build selects it only when no declared type is wider than NATIVE_MAX_BITS (fpgaq.backends.hls.csim),
// and tests compare it with the ap_int build bit for bit.
#if defined(FPGAQ_NATIVE) && !defined(__SYNTHESIS__)
static const int NATIVE_MAX_BITS = 60;

// The narrowest C integer that holds every value of W bits (stream buffers of a frame are held whole).
template <int W, bool S>
struct NativeStorage {
    typedef long long type;
};
template <int W>
struct NativeStorage<W, true> {
    typedef typename std::conditional<W <= 8, signed char,
            typename std::conditional<W <= 16, short, typename std::conditional<W <= 32, int, long long>::type>::type>::type type;
};
template <int W>
struct NativeStorage<W, false> {
    typedef typename std::conditional<W <= 8, unsigned char,
            typename std::conditional<W <= 16, unsigned short,
            typename std::conditional<W <= 32, unsigned, long long>::type>::type>::type type;
};

template <int W, bool S>
class Native {
    static_assert(W >= 1 && W <= NATIVE_MAX_BITS, "a native C-simulation type holds at most 60 bits");
    typename NativeStorage<W, S>::type v_;
    static long long wrap(long long x) {
        return S ? (long long)((unsigned long long)x << (64 - W)) >> (64 - W)
                 : (long long)((unsigned long long)x & ((1ULL << W) - 1));
    }

   public:
    static const int width = W;
    static const bool is_signed = S;
    Native() : v_(0) {}
    Native(long long x) : v_(wrap(x)) {}
    Native(int x) : v_(wrap(x)) {}
    Native(unsigned x) : v_(wrap((long long)x)) {}
    Native(long x) : v_(wrap((long long)x)) {}
    Native(bool x) : v_(wrap(x)) {}
    Native(signed char x) : v_(wrap(x)) {}
    Native(unsigned char x) : v_(wrap(x)) {}
    Native(short x) : v_(wrap(x)) {}
    Native(unsigned short x) : v_(wrap(x)) {}
    template <int W2, bool S2>
    Native(const Native<W2, S2>& x) : v_(wrap(x.to_int64())) {}
    template <int W2, bool S2>
    Native(const ap_int_base<W2, S2>& x) : v_(wrap(S2 ? x.to_int64() : (long long)x.to_uint64())) {}
    operator long long() const { return (long long)v_; }
    long long to_int64() const { return (long long)v_; }
    Native& operator+=(long long x) {
        v_ = wrap((long long)v_ + x);
        return *this;
    }
    Native& operator-=(long long x) {
        v_ = wrap((long long)v_ - x);
        return *this;
    }
};

template <int W>
using int_t = Native<W, true>;
template <int W>
using uint_t = Native<W, false>;
#else
template <int W>
using int_t = ap_int<W>;
template <int W>
using uint_t = ap_uint<W>;
#endif

// The running sum of a tile of SIMD products, of declared type T. Wrapping to W bits is reduction modulo 2^W, so a
// sum wrapped once at the end equals the sum wrapped at every addition: a native C-simulation keeps the running
// sum in 64 bits and stores it into T once (Sum<T>::type is long long), unless every partial sum is checked
// against T (FPGAQ_CHECK_OVERFLOW). In synthesis and with ap_int it is T itself.
template <typename T>
struct Sum {
    typedef T type;
};
// +x or -x by a one-bit bipolar weight (1: +1, 0: -1), as a value of T: a multiplexer in hardware.
template <typename T, typename X>
inline T bipolar_term(bool w, const X& x) {
#pragma HLS INLINE
    return w ? T(x) : T(-T(x));
}
#if defined(FPGAQ_NATIVE) && !defined(__SYNTHESIS__)
#ifndef FPGAQ_CHECK_OVERFLOW
template <int W, bool S>
struct Sum<Native<W, S> > {
    typedef long long type;
};
#endif
// Without a branch (random weights defeat a branch predictor): (x XOR m) - m with m = 0 or -1 is x or -x.
template <typename T, int W, bool S>
inline long long bipolar_term(bool w, const Native<W, S>& x) {
    const long long m = -(long long)!w;
    return (x.to_int64() ^ m) - m;
}
#endif

// The wider type that holds both T and its negation (a threshold compares sign * x).
template <typename T>
struct Negatable {
    typedef int_t<T::width + 1> type;
};

// Overflow instrumentation (fpgaq build --check-overflow): every accumulator is shadowed by an exact 64-bit
// sum; the first value that its declared ap type cannot hold is logged with the layer id and channel.
struct OverflowLog {
    long long count;
    int layer;
    int channel;
    long long value;
};

inline OverflowLog& overflow_log() {
    static OverflowLog log = {0, -1, -1, 0};
    return log;
}

template <typename T>
inline void check_fits(const T& stored, long long exact, int layer, int channel) {
    if ((long long)stored != exact) {
        OverflowLog& log = overflow_log();
        if (log.count++ == 0) {
            log.layer = layer;
            log.channel = channel;
            log.value = exact;
        }
    }
}

// Cycle instrumentation: FPGAQ_CYCLES(n) starts one iteration of a pipelined loop at initiation interval n (every
// pipelined loop of the library starts with it). In synthesis it is nothing. In fpgaq's C-simulation (its own
// hls_stream.h, lib/sim) it advances the calling kernel's clock in a timed simulation; with
// -DFPGAQ_COUNT_CYCLES it also counts cycles (tests of the estimator's schedules).
inline long long& cycle_count() {
    static long long count = 0;
    return count;
}

}  // namespace fpgaq

#ifdef FPGAQ_COUNT_CYCLES
#define FPGAQ_COUNTED(n) (fpgaq::cycle_count() += (n))
#else
#define FPGAQ_COUNTED(n) ((void)0)
#endif

// The dataflow region of the generated top: FPGAQ_PROCESS(name, call) is the call (synthesis, plain
// C-simulation) or starts it as a thread of the timed simulation; FPGAQ_JOIN() ends the region.
#ifdef FPGAQ_SIM_H
#define FPGAQ_CYCLES(n) (fpgaq::sim::tick(n), FPGAQ_COUNTED(n))
#define FPGAQ_PROCESS(name, ...) fpgaq::sim::process(#name, [&]() { __VA_ARGS__; });
#define FPGAQ_JOIN() fpgaq::sim::join();
#else
#define FPGAQ_CYCLES(n) FPGAQ_COUNTED(n)
#define FPGAQ_PROCESS(name, ...) __VA_ARGS__;
#define FPGAQ_JOIN()
#endif
#define FPGAQ_CYCLE() FPGAQ_CYCLES(1)

// fpgaq's native C-simulation (lib/sim, untimed runs): kernels computed without their hardware loop, the same words
// out (never in synthesis, a timed run, an ap_int or an instrumented build).
// -DFPGAQ_NO_FAST keeps the hardware loops (tests compare the two).
#if defined(FPGAQ_SIM_H) && defined(FPGAQ_NATIVE) && !defined(__SYNTHESIS__) && !defined(FPGAQ_CHECK_OVERFLOW) && \
    !defined(FPGAQ_COUNT_CYCLES) && !defined(FPGAQ_NO_FAST)
#include "fast.h"
#endif

#ifdef FPGAQ_CHECK_OVERFLOW
#define FPGAQ_SHADOW(statement) statement
#define FPGAQ_CHECK(stored, exact, layer, channel) fpgaq::check_fits(stored, exact, layer, channel)
#else
#define FPGAQ_SHADOW(statement)
#define FPGAQ_CHECK(stored, exact, layer, channel)
#endif

#endif
