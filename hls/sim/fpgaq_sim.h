// fpgaq's timed dataflow simulation: the generated top's kernels, each a coroutine with its own stack, over FIFOs
// bounded at the depths the top declares, with time (fpgaq simulate; fpgaq build sizes the FIFOs with it).
//
// Not used by synthesis: only the C-simulation build puts lib/sim first on the include path, so that
// <hls_stream.h> is fpgaq's stream (hls_stream.h next to this file) instead of the vendor's. In a plain
// C-simulation the streams are unbounded queues and the kernels run one after another, as Vitis csim runs them.
//
// Time is conservative and per kernel (each process has its own clock, in cycles):
// - every pipelined loop iteration costs its II (FPGAQ_CYCLE(n) at the top of each iteration of the library);
// - every FIFO entry carries the cycle it was written; a reader cannot take it before the next cycle;
// - a write into a FIFO of depth D waits until the entry D places earlier was read (in the cycle after);
// - a stall of either kind stops the whole pipeline of the kernel (Vitis's default for blocking accesses).
// A process runs until it reads an empty FIFO or writes a full one; it then yields to the scheduler, which resumes
// another whose FIFO has changed. Each FIFO has one writer and one reader and every access blocks, so the clocks
// and the data are those of any interleaving (a Kahn network): one OS thread runs the whole design, and switching
// process costs nanoseconds instead of a thread wake-up. A deadlock is a state in which no process
// can run and some have not finished: found at once, reported with the blocked kernels and the full and empty
// FIFOs, and every process unwinds. The simulation cannot hang. The state is per OS thread, so simulations of
// one library may run on several threads at once.
// Pipeline depths (the latency of one iteration) are not modelled: outputs are stamped with the cycle of the
// iteration that wrote them, so latencies are low by the sum of the pipeline depths (a few cycles a kernel).
#ifndef FPGAQ_SIM_H
#define FPGAQ_SIM_H

#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

// Switching between processes. On x86-64 Linux: a switch of stack pointers that saves the registers the ABI
// has callees preserve (rbx, rbp, r12-r15; the return address is on the stack), a few nanoseconds. Elsewhere:
// POSIX ucontext, whose swapcontext also saves the signal mask with a system call.
#if defined(__x86_64__) && defined(__linux__) && !defined(FPGAQ_SIM_UCONTEXT)
#define FPGAQ_SIM_FAST_SWITCH 1
// fpgaq_sim_switch(save, to): stores this stack's pointer in *save and resumes the stack `to` was saved from.
// Weak, so that every translation unit that includes this header may define it (the linker keeps one).
__asm__(
    ".text\n"
    ".weak fpgaq_sim_switch\n"
    ".hidden fpgaq_sim_switch\n"
    ".type fpgaq_sim_switch, @function\n"
    "fpgaq_sim_switch:\n"
    "    pushq %rbp\n"
    "    pushq %rbx\n"
    "    pushq %r12\n"
    "    pushq %r13\n"
    "    pushq %r14\n"
    "    pushq %r15\n"
    "    movq %rsp, (%rdi)\n"
    "    movq %rsi, %rsp\n"
    "    popq %r15\n"
    "    popq %r14\n"
    "    popq %r13\n"
    "    popq %r12\n"
    "    popq %rbx\n"
    "    popq %rbp\n"
    "    ret\n"
    ".size fpgaq_sim_switch, .-fpgaq_sim_switch\n");
extern "C" void fpgaq_sim_switch(void** save, void* to);
#endif

namespace fpgaq {
namespace sim {

struct Fifo;

#ifdef FPGAQ_SIM_FAST_SWITCH
struct Context {
    void* sp = nullptr;
};
inline void switch_to(Context& save, Context& to) { fpgaq_sim_switch(&save.sp, to.sp); }
#else
struct Context {
    ucontext_t uc;
};
inline void switch_to(Context& save, Context& to) { swapcontext(&save.uc, &to.uc); }
#endif

// The stack of a process: reserved, committed page by page as it is touched, with a guard page below it (an
// overflow faults instead of corrupting its neighbour). As large as a thread's default stack, which the kernels'
// local buffers were written for.
const size_t STACK_BYTES = 8u << 20;

// One dataflow process (a kernel, the input source or the output sink).
struct Proc {
    std::string name;
    long long clock = 0;      // the cycle of the current loop iteration
    long long busy = 0;       // cycles of loop iterations
    long long stall_in = 0;   // cycles waiting for a FIFO entry (empty)
    long long stall_out = 0;  // cycles waiting for a FIFO slot (full)
    bool runnable = true;     // false while blocked
    bool finished = false;
    const Fifo* waiting = nullptr;
    bool waiting_write = false;
    bool kernel = true;  // a process of the dataflow region (run once per frame), not the source or the sink
    std::function<void()> body;
    Context context;
    char* stack = nullptr;  // mmap'ed: STACK_BYTES and the guard page
};

struct FifoStats {
    std::string name, writer, reader;
    long long depth, words, max_occupancy, present, full_stalls;
};

struct Blocked {
    std::string proc, fifo;
    bool write;
};

// The state of one simulation run; one run at a time per OS thread.
struct State {
    bool timed = false;
    int frames = 1;
    bool deadlock = false;
    std::map<std::string, long long> depths;  // stream name -> depth (0: unbounded)
    std::deque<Proc> procs;                   // stable addresses
    std::deque<Proc*> ready;                  // runnable processes not running
    Proc* running = nullptr;                  // the process whose stack is in use (none: the scheduler's)
    Context scheduler;                        // where a process that blocks or ends returns to
    std::vector<Fifo*> fifos;                 // every live FIFO (timed runs)
    std::vector<FifoStats> fifo_stats;        // taken when the dataflow region ends
    std::vector<Blocked> blocked_on;          // taken when a deadlock is found
    std::vector<FifoStats> deadlock_fifos;
    long long faults = 0;  // reads of an empty stream in an untimed run
};

inline State& state() {
    static thread_local State s;
    return s;
}

// How many timed runs are in progress in this library, on any thread. Zero in a plain C-simulation, which then
// never touches the per-thread state (a thread-local lookup per stream access and loop iteration).
inline std::atomic<int>& timed_runs() {
    static std::atomic<int> n(0);
    return n;
}

// Counts every change of a table the host writes at run time (fpgaq_load_weights): a C-simulation's converted copy
// of a layer's weights (fast_mvu.h) is rebuilt when it has moved on.
inline std::atomic<long long>& weights_generation() {
    static std::atomic<long long> n(0);
    return n;
}

// Whether the calling thread runs a timed simulation.
inline bool timed() { return timed_runs().load(std::memory_order_relaxed) != 0 && state().timed; }

struct Abort {};  // thrown in every blocked process once a deadlock is found

// One iteration of a pipelined loop at initiation interval n.
inline void tick(long long n) {
    if (timed_runs().load(std::memory_order_relaxed) == 0) return;
    Proc* p = state().running;
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
    // The timed run this FIFO belongs to (constructed in it, on its thread), else null: every access of a timed
    // FIFO goes through it, without a thread-local lookup.
    State* st = nullptr;

    explicit Fifo(const char* n) : name(n ? n : "") {
        if (!timed()) return;
        st = &state();
        auto it = st->depths.find(name);
        depth = it == st->depths.end() ? 2 : it->second;  // Vitis's default depth
        st->fifos.push_back(this);
    }
    ~Fifo() {
        if (!st) return;
        for (size_t i = 0; i < st->fifos.size(); i++) {
            if (st->fifos[i] == this) {
                st->fifos.erase(st->fifos.begin() + i);
                break;
            }
        }
    }
    bool timed_fifo() const { return st != nullptr; }
    Fifo(const Fifo&) = delete;
    Fifo& operator=(const Fifo&) = delete;

    long long present() const { return (long long)stamps.size(); }
    bool full() const { return depth > 0 && present() >= depth; }
    FifoStats stats() const {
        return FifoStats{name, writer_name, reader_name, depth, writes, max_occupancy, present(), full_stalls};
    }

    // Suspends the calling process until another one makes its access possible (wake).
    void block(Proc* p, bool write);
    void wake(Proc*& waiter) {
        if (waiter) {
            waiter->runnable = true;
            st->ready.push_back(waiter);
            waiter = nullptr;
        }
    }

    // The timed half of a write (the caller then appends the data).
    void timed_write() {
        Proc* p = st->running;
        if (writes == 0) writer_name = p->name;
        while (full()) block(p, true);
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

    // The timed half of a read (the caller then takes the data).
    void timed_read() {
        Proc* p = st->running;
        if (reads == 0) reader_name = p->name;
        while (stamps.empty()) block(p, false);
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
        if (!p.finished && p.waiting) st.blocked_on.push_back(Blocked{p.name, p.waiting->name, p.waiting_write});
    }
    st.deadlock_fifos.clear();
    for (Fifo* f : st.fifos) {
        if (f->full() || f->present() == 0) st.deadlock_fifos.push_back(f->stats());
    }
}

inline void Fifo::block(Proc* p, bool write) {
    if (st->deadlock) throw Abort();
    p->runnable = false;
    p->waiting = this;
    p->waiting_write = write;
    (write ? writer : reader) = p;
    switch_to(p->context, st->scheduler);  // back here once woken, or on a deadlock
    if (st->deadlock) throw Abort();
    p->waiting = nullptr;
}

// The first frame of every process: its body (once per frame for a kernel), then back to the scheduler for good.
inline void entry() {
    State& st = state();
    Proc* p = st.running;
    try {
        for (int f = 0; f < (p->kernel ? st.frames : 1); f++) p->body();
    } catch (const Abort&) {
    }
    p->finished = true;
    switch_to(p->context, st.scheduler);  // never resumed
}

// Registers a process (it runs once the dataflow region's join() schedules it): `body` once per frame (kernel) or
// once (the source and the sink).
inline void start(const char* name, std::function<void()> body, bool kernel) {
    State& st = state();
    st.procs.emplace_back();
    Proc* p = &st.procs.back();
    p->name = name;
    p->kernel = kernel;
    p->body = std::move(body);
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void* mem = mmap(nullptr, STACK_BYTES + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                     -1, 0);
    if (mem == MAP_FAILED) {
        std::fprintf(stderr, "fpgaq simulation: no memory for the stack of %s\n", name);
        std::abort();
    }
    mprotect(mem, page, PROT_NONE);  // the guard page
    p->stack = (char*)mem;
#ifdef FPGAQ_SIM_FAST_SWITCH
    // The stack as fpgaq_sim_switch leaves it: six saved registers (zero), then the address it returns to
    // (entry), then entry's own return address (none: it never returns), 16-byte aligned as at a call.
    void** sp = (void**)(p->stack + page + STACK_BYTES);
    *--sp = nullptr;
    *--sp = (void*)&entry;
    for (int r = 0; r < 6; r++) *--sp = nullptr;
    p->context.sp = sp;
#else
    getcontext(&p->context.uc);
    p->context.uc.uc_stack.ss_sp = p->stack + page;
    p->context.uc.uc_stack.ss_size = STACK_BYTES;
    p->context.uc.uc_link = nullptr;
    makecontext(&p->context.uc, entry, 0);
#endif
    st.ready.push_back(p);
}

// Frees the processes' stacks (every process has finished).
inline void release_stacks(State& st) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (Proc& p : st.procs) {
        if (p.stack) munmap(p.stack, STACK_BYTES + page);
        p.stack = nullptr;
    }
}

// Runs processes until none can run: every one has finished, or a deadlock (then every blocked process is resumed
// once to unwind). Called on the caller's own stack.
inline void schedule() {
    State& st = state();
    for (int pass = 0; pass < 2; pass++) {
        while (!st.ready.empty()) {
            Proc* p = st.ready.front();
            st.ready.pop_front();
            if (p->finished) continue;
            st.running = p;
            switch_to(st.scheduler, p->context);
            st.running = nullptr;
        }
        bool unfinished = false;
        for (Proc& p : st.procs) unfinished = unfinished || !p.finished;
        if (!unfinished || st.deadlock) break;
        deadlock_found(st);
        for (Proc& p : st.procs) {
            if (!p.finished) st.ready.push_back(&p);
        }
    }
}

// A dataflow process of the generated top: a coroutine of the timed simulation, or run now (plain C-simulation).
template <typename F>
void process(const char* name, F body) {
    if (timed()) {
        start(name, std::function<void()>(body), true);
    } else {
        body();
    }
}

// The end of a dataflow region: every process (the source, the kernels, the sink) runs to its end or to a
// deadlock, and the FIFOs' statistics are kept (they are local to the region).
inline void join() {
    if (!timed()) return;
    State& st = state();
    schedule();
    for (Fifo* f : st.fifos) {
        if (!f->boundary) st.fifo_stats.push_back(f->stats());
    }
}

}  // namespace sim
}  // namespace fpgaq

#endif
