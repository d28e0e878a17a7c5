// One timed simulation run of a generated top (called by the C bridge's fpgaq_simulate).
#ifndef FPGAQ_SIM_SIMULATE_H
#define FPGAQ_SIM_SIMULATE_H

#include <sstream>

#include "hls_stream.h"

namespace fpgaq {
namespace sim {

inline void json_string(std::ostringstream& os, const std::string& s) {
    os << '"';
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            os << '\\' << c;
        } else if (c < 0x20 || c >= 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\u%04x", c);
            os << buf;
        } else {
            os << c;
        }
    }
    os << '"';
}

inline void json_fifo(std::ostringstream& os, const FifoStats& f) {
    os << "{\"name\": ";
    json_string(os, f.name);
    os << ", \"writer\": ";
    json_string(os, f.writer);
    os << ", \"reader\": ";
    json_string(os, f.reader);
    os << ", \"full_stalls\": " << f.full_stalls << ", \"depth\": " << f.depth << ", \"words\": " << f.words << ", \"max_occupancy\": " << f.max_occupancy
       << ", \"present\": " << f.present << "}";
}

template <typename T>
void json_list(std::ostringstream& os, const std::vector<T>& items) {
    os << "[";
    for (size_t i = 0; i < items.size(); i++) os << (i ? ", " : "") << items[i];
    os << "]";
}

// Runs `frames` frames through top(in, out): a source writes input words one per cycle at most (with pace > 0,
// word w of frame f not before cycle f * pace + w * pace / words a frame), a sink reads output words one per
// cycle. depths: "name depth" lines
// (0: unbounded), streams not named get Vitis's default of 2. Returns 0, or 3 on a deadlock; the report (JSON)
// has the per-frame input start and output end cycles, per-process busy and stall cycles and per-FIFO maximum
// occupancy, or the deadlock's blocked processes and full and empty FIFOs.
template <typename InW, typename OutW>
int simulate(void (*top)(hls::stream<InW>&, hls::stream<OutW>&), const unsigned char* in, unsigned char* out,
             int frames, int in_words, int in_bytes, int out_words, int out_bytes, long long pace, const char* depths,
             std::string& report) {
    State& st = state();
    {
        st.procs.clear();
        st.ready.clear();
        st.running = nullptr;
        st.fifos.clear();
        st.fifo_stats.clear();
        st.blocked_on.clear();
        st.deadlock_fifos.clear();
        st.depths.clear();
        st.deadlock = false;
        st.faults = 0;
        std::istringstream lines(depths ? depths : "");
        std::string name;
        long long depth;
        while (lines >> name >> depth) st.depths[name] = depth;
        st.frames = frames;
        st.timed = true;
        timed_runs()++;
    }
    std::vector<long long> started(frames, -1), done(frames, -1);
    std::vector<FifoStats> boundary;
    {
        hls::stream<InW> sin("in");
        hls::stream<OutW> sout("out");
        sin.boundary = sout.boundary = true;
        start(
            "source",
            [&]() {
                Proc* p = st.running;
                for (int f = 0; f < frames; f++) {
                    for (int w = 0; w < in_words; w++) {
                        const long long earliest = pace > 0 ? f * pace + w * pace / in_words : 0;
                        if (p->clock < earliest) p->clock = earliest;  // idle: not a stall
                        tick(1);
                        InW word = 0;
                        for (int b = 0; b < in_bytes; b++) {
                            word.range(8 * b + 7, 8 * b) = in[((long long)f * in_words + w) * in_bytes + b];
                        }
                        if (w == 0) started[f] = p->clock;
                        sin.write(word);
                    }
                }
            },
            false);
        start(
            "sink",
            [&]() {
                Proc* p = st.running;
                for (int f = 0; f < frames; f++) {
                    for (int w = 0; w < out_words; w++) {
                        tick(1);
                        OutW word = sout.read();
                        for (int b = 0; b < out_bytes; b++) {
                            out[((long long)f * out_words + w) * out_bytes + b] = (unsigned char)word.range(8 * b + 7, 8 * b);
                        }
                    }
                    done[f] = p->clock;
                }
            },
            false);
        top(sin, sout);  // registers every kernel; its join() runs them all to their end (or a deadlock)
        schedule();      // nothing left to run, unless the top has no dataflow region
        release_stacks(st);
        boundary.push_back(sin.stats());
        boundary.push_back(sout.stats());
        st.timed = false;
        timed_runs()--;
    }
    std::ostringstream os;
    os << "{\"deadlock\": " << (st.deadlock ? "true" : "false") << ", \"frames\": " << frames
       << ", \"faults\": " << st.faults << ", \"started\": ";
    json_list(os, started);
    os << ", \"done\": ";
    json_list(os, done);
    os << ", \"processes\": [";
    bool first = true;
    for (const Proc& p : st.procs) {
        os << (first ? "" : ", ") << "{\"name\": ";
        json_string(os, p.name);
        os << ", \"kernel\": " << (p.kernel ? "true" : "false") << ", \"busy\": " << p.busy
           << ", \"stall_in\": " << p.stall_in << ", \"stall_out\": " << p.stall_out << ", \"end\": " << p.clock << "}";
        first = false;
    }
    os << "], \"fifos\": [";
    std::vector<FifoStats> fifos = boundary;
    fifos.insert(fifos.end(), st.fifo_stats.begin(), st.fifo_stats.end());
    for (size_t i = 0; i < fifos.size(); i++) {
        os << (i ? ", " : "");
        json_fifo(os, fifos[i]);
    }
    os << "], \"blocked\": [";
    for (size_t i = 0; i < st.blocked_on.size(); i++) {
        os << (i ? ", " : "") << "{\"process\": ";
        json_string(os, st.blocked_on[i].proc);
        os << ", \"fifo\": ";
        json_string(os, st.blocked_on[i].fifo);
        os << ", \"waits_for\": \"" << (st.blocked_on[i].write ? "space" : "data") << "\"}";
    }
    os << "], \"deadlock_fifos\": [";
    for (size_t i = 0; i < st.deadlock_fifos.size(); i++) {
        os << (i ? ", " : "");
        json_fifo(os, st.deadlock_fifos[i]);
    }
    os << "]}";
    report = os.str();
    return st.deadlock ? 3 : 0;
}

}  // namespace sim
}  // namespace fpgaq

#endif
