// fpgaq's hls::stream for C-simulation (not the vendor header; the vendor's is used by Vitis HLS): the subset of
// the interface the kernel library uses. Untimed (a plain C-simulation, kernels called one after another) it is
// an unbounded queue, as Vitis csim's; in a timed simulation (fpgaq_sim.h) every access goes through the
// simulation's clocks and bounds.
#ifndef FPGAQ_SIM_HLS_STREAM_H
#define FPGAQ_SIM_HLS_STREAM_H

#include "fpgaq_sim.h"

namespace hls {

template <typename T>
class stream : public fpgaq::sim::Fifo {
   public:
    stream() : Fifo("") {}
    explicit stream(const char* name) : Fifo(name) {}

    void write(const T& value) {
        if (!fpgaq::sim::timed()) {
            data_.push_back(value);
            return;
        }
        timed_write();
        data_.push_back(value);
    }

    T read() {
        if (!fpgaq::sim::timed()) {
            if (data_.empty()) {  // a kernel bug: counted, and the caller sees missing or extra words
                fpgaq::sim::state().faults++;
                return T();
            }
            T value = data_.front();
            data_.pop_front();
            return value;
        }
        timed_read();
        T value = data_.front();
        data_.pop_front();
        return value;
    }

    void read(T& value) { value = read(); }
    void operator<<(const T& value) { write(value); }
    void operator>>(T& value) { value = read(); }

    bool empty() { return data_.empty(); }
    size_t size() { return data_.size(); }

   private:
    std::deque<T> data_;
};

}  // namespace hls

#endif
