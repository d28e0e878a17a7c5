// fpgaq's timed dataflow simulation: the generated top's kernels, each in its own thread, over FIFOs bounded at
// the depths the top declares, with time (fpgaq simulate; fpgaq build sizes the FIFOs with it).
//
// Not used by synthesis: only the C-simulation build puts lib/sim first on the include path, so that
// <hls_stream.h> is fpgaq's stream (hls_stream.h next to this file) instead of the vendor's. In a plain
// C-simulation the streams are unbounded queues and the kernels run one after another, as Vitis csim runs them.
//
// Time is conservative and per kernel (each thread has its own clock, in cycles):
// - every pipelined loop iteration costs its II (FPGAQ_CYCLE(n) at the top of each iteration of the library);
// - every FIFO entry carries the cycle it was written; a reader cannot take it before the next cycle;
// - a write into a FIFO of depth D waits until the entry D places earlier was read (in the cycle after);
// - a stall of either kind stops the whole pipeline of the kernel (Vitis's default for blocking accesses).
// The threads block in wall time exactly when a FIFO is empty or full, so a deadlock is a state in which every
// live thread is blocked: detected at once (under the one lock every FIFO access takes), reported with the
// blocked kernels and the full and empty FIFOs, and every thread unwinds. The simulation cannot hang.
// Pipeline depths (the latency of one iteration) are not modelled: outputs are stamped with the cycle of the
// iteration that wrote them, so latencies are low by the sum of the pipeline depths (a few cycles a kernel).
#ifndef FPGAQ_SIM_H
#define FPGAQ_SIM_H

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fpgaq {
namespace sim {

struct Fifo;

// One dataflow process (a kernel, the input source or the output sink).
struct Proc {
    std::string name;
    long long clock = 0;      // the cycle of the current loop iteration
    long long busy = 0;       // cycles of loop iterations
    long long stall_in = 0;   // cycles waiting for a FIFO entry (empty)
    long long stall_out = 0;  // cycles waiting for a FIFO slot (full)
    bool runnable = true;     // false while blocked in wall time
    const Fifo* waiting = nullptr;
    bool waiting_write = false;
    bool kernel = true;  // a process of the dataflow region (joined at its end), not the source or the sink
    std::thread thread;
};

struct FifoStats {
    std::string name, writer, reader;
    long long depth, words, max_occupancy, present, full_stalls;
};

struct Blocked {
    std::string proc, fifo;
    bool write;
};

// The state of one simulation run; one run at a time per process.
struct State {
    std::mutex mutex;
    bool timed = false;
    int frames = 1;
    int alive = 0;
    int blocked = 0;
    bool deadlock = false;
    std::map<std::string, long long> depths;  // stream name -> depth (0: unbounded)
    std::deque<Proc> procs;                   // stable addresses
    std::vector<Fifo*> fifos;                 // every live FIFO (timed runs)
    std::vector<FifoStats> fifo_stats;        // taken when the dataflow region ends
    std::vector<Blocked> blocked_on;          // taken when a deadlock is found
    std::vector<FifoStats> deadlock_fifos;
    long long faults = 0;  // reads of an empty stream in an untimed run
};

inline State& state() {
    static State s;
    return s;
}

inline Proc*& current() {
    static thread_local Proc* proc = nullptr;
    return proc;
}

struct Abort {};  // thrown in every thread once a deadlock is found

// One iteration of a pipelined loop at initiation interval n.
inline void tick(long long n) {
    Proc* p = current();
    if (p) {
        p->clock += n;
        p->busy += n;
    }
}

struct Fifo {
    std::string name;
    long long depth = 2;    // 0: unbounded
    bool boundary = false;  // the top's own input or output (its statistics are taken by the caller)
    long long writes = 0, reads = 0, max_occupancy = 0;
    long long full_stalls = 0;  // cycles its writer waited for a slot
    std::string writer_name, reader_name;
    std::deque<long long> stamps;       // write cycles of the entries present
    std::deque<long long> read_stamps;  // read cycles of entries read_base, read_base + 1, ...
    long long read_base = 0;
    long long freed = 0;  // entries read before the write cycle of the last entry whose occupancy was resolved
    Proc* reader = nullptr;  // blocked on this FIFO, waiting for an entry
    Proc* writer = nullptr;  // blocked on this FIFO, waiting for a slot
    std::condition_variable cv;

    explicit Fifo(const char* n) : name(n ? n : "") {
        State& st = state();
        if (!st.timed) return;
        std::lock_guard<std::mutex> lock(st.mutex);
        auto it = st.depths.find(name);
        depth = it == st.depths.end() ? 2 : it->second;  // Vitis's default depth
        st.fifos.push_back(this);
    }
    ~Fifo() {
        State& st = state();
        if (!st.timed) return;
        std::lock_guard<std::mutex> lock(st.mutex);
        for (size_t i = 0; i < st.fifos.size(); i++) {
            if (st.fifos[i] == this) {
                st.fifos.erase(st.fifos.begin() + i);
                break;
            }
        }
    }
    Fifo(const Fifo&) = delete;
    Fifo& operator=(const Fifo&) = delete;

    long long present() const { return (long long)stamps.size(); }
    bool full() const { return depth > 0 && present() >= depth; }
    FifoStats stats() const {
        return FifoStats{name, writer_name, reader_name, depth, writes, max_occupancy, present(), full_stalls};
    }

    // Blocks the calling process until another process makes `ready` true (it clears `runnable` for us).
    void block(std::unique_lock<std::mutex>& lock, Proc* p, bool write);
    void wake(Proc*& waiter) {
        if (waiter) {
            waiter->runnable = true;
            state().blocked--;
            waiter = nullptr;
            cv.notify_all();
        }
    }

    // The timed half of a write (the caller holds the lock and then appends the data).
    void timed_write(std::unique_lock<std::mutex>& lock) {
        Proc* p = current();
        if (writes == 0) writer_name = p->name;
        while (full()) block(lock, p, true);
        if (depth > 0 && writes >= depth) {  // the slot of entry writes - depth frees the cycle after its read
            const long long free_at = read_stamps[writes - depth - read_base] + 1;
            if (p->clock < free_at) {
                full_stalls += free_at - p->clock;
                p->stall_out += free_at - p->clock;
                p->clock = free_at;
            }
        }
        stamps.push_back(p->clock);
        writes++;
        wake(reader);
    }

    // The timed half of a read (the caller holds the lock and then takes the data).
    void timed_read(std::unique_lock<std::mutex>& lock) {
        Proc* p = current();
        if (reads == 0) reader_name = p->name;
        while (stamps.empty()) block(lock, p, false);
        const long long written = stamps.front();
        stamps.pop_front();
        if (p->clock < written + 1) {
            p->stall_in += written + 1 - p->clock;
            p->clock = written + 1;
        }
        read_stamps.push_back(p->clock);
        // Occupancy just after this entry was written: entries written up to it, less those read before.
        while (freed < reads && read_stamps[freed - read_base] < written) freed++;
        const long long occupancy = reads + 1 - freed;
        if (occupancy > max_occupancy) max_occupancy = occupancy;
        reads++;
        const long long keep = depth > 0 && writes - depth < freed ? writes - depth : freed;
        while (read_base < keep) {
            read_stamps.pop_front();
            read_base++;
        }
        wake(writer);
    }
};

inline void deadlock_found(State& st) {
    st.deadlock = true;
    st.blocked_on.clear();
    for (const Proc& p : st.procs) {
        if (!p.runnable && p.waiting) st.blocked_on.push_back(Blocked{p.name, p.waiting->name, p.waiting_write});
    }
    st.deadlock_fifos.clear();
    for (Fifo* f : st.fifos) {
        if (f->full() || f->present() == 0) st.deadlock_fifos.push_back(f->stats());
        f->cv.notify_all();
    }
}

inline void Fifo::block(std::unique_lock<std::mutex>& lock, Proc* p, bool write) {
    State& st = state();
    if (st.deadlock) throw Abort();
    p->runnable = false;
    p->waiting = this;
    p->waiting_write = write;
    (write ? writer : reader) = p;
    st.blocked++;
    if (st.blocked == st.alive) deadlock_found(st);
    while (!p->runnable && !st.deadlock) cv.wait(lock);
    if (st.deadlock) throw Abort();
    p->waiting = nullptr;
}

// A process has finished (or unwound): one fewer thread that could unblock the others.
inline void retire(State& st) {
    std::lock_guard<std::mutex> lock(st.mutex);
    st.alive--;
    if (st.alive > 0 && st.blocked == st.alive && !st.deadlock) deadlock_found(st);
}

// Starts a process in its own thread: `body` once per frame (kernel) or once (the source and the sink).
template <typename F>
void start(const char* name, F body, bool kernel) {
    State& st = state();
    std::lock_guard<std::mutex> lock(st.mutex);
    st.procs.emplace_back();
    Proc* p = &st.procs.back();
    p->name = name;
    p->kernel = kernel;
    st.alive++;
    p->thread = std::thread([p, body]() {
        current() = p;
        State& s = state();
        try {
            for (int f = 0; f < (p->kernel ? s.frames : 1); f++) body();
        } catch (const Abort&) {
        }
        retire(s);
    });
}

// A dataflow process of the generated top: in its own thread (timed), or run now (plain C-simulation).
template <typename F>
void process(const char* name, F body) {
    if (state().timed) {
        start(name, body, true);
    } else {
        body();
    }
}

// The end of a dataflow region: the simulation's own start token is given back (no deadlock can be declared
// while processes are still being started), every kernel thread is joined, and the FIFOs' statistics kept
// (they are local to the region).
inline void join() {
    State& st = state();
    if (!st.timed) return;
    retire(st);
    std::vector<Proc*> mine;
    {
        std::lock_guard<std::mutex> lock(st.mutex);
        for (Proc& p : st.procs) {
            if (p.thread.joinable() && p.kernel) mine.push_back(&p);
        }
    }
    for (Proc* p : mine) p->thread.join();
    std::lock_guard<std::mutex> lock(st.mutex);
    for (Fifo* f : st.fifos) {
        if (!f->boundary) st.fifo_stats.push_back(f->stats());
    }
}

}  // namespace sim
}  // namespace fpgaq

#endif
