// Verilator harness of one streaming module (in_data/in_valid/in_ready -> out_data/out_valid/out_ready), Verilated
// with --prefix Vtop and -DOUT_BITS=<its output width>. stdin: the number of output words to collect,
// the percentages of cycles in which the source offers a word and the sink takes one (100 100: a source and sink
// that never wait), a seed, then the input words in hex (most significant digit first). stdout: the output words
// in hex, then "cycles N" (rising edges until the last output word was taken). Exit 1 when the module stops
// producing (no output for 100000 cycles).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "verilated.h"
#include "Vtop.h"

typedef std::vector<uint32_t> Words;  // 32-bit words, least significant first

static Words parse(const std::string& hex) {
    Words out;
    for (int end = (int)hex.size(); end > 0; end -= 8) {
        const int begin = end > 8 ? end - 8 : 0;
        out.push_back((uint32_t)std::stoul(hex.substr(begin, end - begin), nullptr, 16));
    }
    return out;
}

template <typename T>
static void put(T& port, const Words& w) {
    uint64_t v = w.empty() ? 0 : w[0];
    if (w.size() > 1) v |= (uint64_t)w[1] << 32;
    port = (T)v;
}
template <std::size_t N>
static void put(VlWide<N>& port, const Words& w) {
    for (std::size_t i = 0; i < N; i++) port[i] = i < w.size() ? w[i] : 0;
}
template <typename T>
static std::string hex(const T& port, int bits) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%0*llx", (bits + 3) / 4, (unsigned long long)port);
    return buf;
}
template <std::size_t N>
static std::string hex(const VlWide<N>& port, int bits) {
    std::string s;
    for (int i = (int)N - 1; i >= 0; i--) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%08x", (unsigned)port[i]);
        s += buf;
    }
    const int digits = (bits + 3) / 4;
    return s.substr(s.size() - digits);
}

int main(int argc, char** argv) {
    Verilated::commandArgs(argc, argv);
    long long want;
    int offer, take;
    unsigned seed;
    std::cin >> want >> offer >> take >> seed;
    std::vector<Words> input;
    for (std::string word; std::cin >> word;) input.push_back(parse(word));
    std::srand(seed);
    Vtop top;
    const int out_bits = OUT_BITS;
    top.clk = 0;
    top.rst = 1;
    top.in_valid = 0;
    top.out_ready = 0;
    for (int i = 0; i < 2; i++) {
        top.clk = 1;
        top.eval();
        top.clk = 0;
        top.eval();
    }
    top.rst = 0;
    std::size_t next = 0;
    long long got = 0, cycles = 0, idle = 0;
    while (got < want) {
        // drive the inputs for this cycle (a source keeps an offered word until it is taken)
        if (!top.in_valid && next < input.size() && std::rand() % 100 < offer) {
            put(top.in_data, input[next]);
            top.in_valid = 1;
        }
        top.out_ready = std::rand() % 100 < take;
        top.eval();
        const bool in_fire = top.in_valid && top.in_ready;
        const bool out_fire = top.out_valid && top.out_ready;
        if (out_fire) {
            std::printf("%s\n", hex(top.out_data, out_bits).c_str());
            got++;
            idle = 0;
        } else if (++idle > 100000) {
            std::fprintf(stderr, "no output for 100000 cycles after %lld words\n", got);
            return 1;
        }
        top.clk = 1;
        top.eval();
        top.clk = 0;
        top.eval();
        cycles++;
        if (in_fire) {
            next++;
            top.in_valid = 0;
        }
    }
    std::printf("cycles %lld\n", cycles);
    top.final();
    return 0;
}
