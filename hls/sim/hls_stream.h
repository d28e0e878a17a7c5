// fpgaq's hls::stream for C-simulation (not the vendor header; the vendor's is used by Vitis HLS): the subset of
// the interface the kernel library uses. Untimed (a plain C-simulation, kernels called one after another) it is
// an unbounded queue, as Vitis csim's; in a timed simulation (fpgaq_sim.h) every access goes through the
// simulation's clocks and bounds.
#ifndef FPGAQ_SIM_HLS_STREAM_H
#define FPGAQ_SIM_HLS_STREAM_H

#include <algorithm>
#include <cstddef>
#include <vector>

#include "fpgaq_sim.h"

namespace hls {

template <typename T>
class stream : public fpgaq::sim::Fifo {
   public:
    stream() : Fifo("") { reuse(); }
    explicit stream(const char* name) : Fifo(name) { reuse(); }
    ~stream() {
        std::vector<std::vector<T> >& spare = spares();
        if (spare.size() < 256) spare.push_back(std::move(data_));
    }

    void write(const T& value) {
        if (timed_fifo()) timed_write();
        if (end_ < data_.size()) {
            data_[end_] = value;
        } else {
            data_.push_back(value);
        }
        end_++;
    }

    T read() {
        if (!timed_fifo()) {
            if (empty()) {  // a kernel bug: counted, and the caller sees missing or extra words
                fpgaq::sim::state().faults++;
                return T();
            }
            return take();
        }
        timed_read();
        return take();
    }

    void read(T& value) { value = read(); }
    void operator<<(const T& value) { write(value); }
    void operator>>(T& value) { value = read(); }

    bool empty() { return head_ == end_; }
    size_t size() { return end_ - head_; }

    // Bulk access for the native C-simulation's kernels without their loop (fast.h), untimed streams only: the
    // next n entries in place (null where the stream is timed or holds fewer: the kernel's loop runs and counts
    // what is missing), dropped by consume(n) once read; append(n) adds n entries for the caller to fill.
    const T* peek(size_t n) { return timed_fifo() || size() < n ? nullptr : data_.data() + head_; }
    void consume(size_t n) {
        head_ += n;
        if (head_ == end_) head_ = end_ = 0;
    }
    T* append(size_t n) {
        if (end_ + n > data_.size()) data_.resize(end_ + n);
        T* at = data_.data() + end_;
        end_ += n;
        return at;
    }

   private:
    // A queue in one growing array (entries [head_, end_)): an untimed C-simulation writes a whole frame into a
    // stream before its reader starts, so the array grows a few times per frame and is read straight through,
    // with none of a deque's allocation per few entries. Emptied, it starts again at the front; in a timed run,
    // where reads and writes interleave, the read part is dropped once it is most of the array (each entry
    // moved at most once on average). Entries past end_ stay constructed (the array's size is its high-water
    // mark), so a frame's words are written over the last frame's, never constructed again.
    T take() {
        T value = data_[head_++];
        if (head_ == end_) {
            head_ = end_ = 0;
        } else if (head_ >= 1024 && head_ * 2 >= end_) {
            std::copy(data_.begin() + (std::ptrdiff_t)head_, data_.begin() + (std::ptrdiff_t)end_, data_.begin());
            end_ -= head_;
            head_ = 0;
        }
        return value;
    }

    // The arrays of this thread's ended streams of T, entries kept: the next frame's streams, constructed in the
    // order the last ones ended in reverse, take them back one for one instead of growing new ones (a fresh
    // frame-sized array costs a page fault per page, and constructing its entries a pass over it).
    static std::vector<std::vector<T> >& spares() {
        static thread_local std::vector<std::vector<T> > spare;
        return spare;
    }
    void reuse() {
        std::vector<std::vector<T> >& spare = spares();
        if (!spare.empty()) {
            data_.swap(spare.back());
            spare.pop_back();
        }
    }

    std::vector<T> data_;
    size_t head_ = 0, end_ = 0;
};

}  // namespace hls

#endif
