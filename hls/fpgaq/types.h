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

#ifdef FPGAQ_CHECK_OVERFLOW
#define FPGAQ_SHADOW(statement) statement
#define FPGAQ_CHECK(stored, exact, layer, channel) fpgaq::check_fits(stored, exact, layer, channel)
#else
#define FPGAQ_SHADOW(statement)
#define FPGAQ_CHECK(stored, exact, layer, channel)
#endif

#endif
