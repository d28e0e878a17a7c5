// Verilator harness of a board top level with a UART (fpgaq_board: clk, uart_rx, uart_tx, reset_btn), Verilated
// with --prefix Vtop, -GCLKS_PER_BIT=N and -DCLKS_PER_BIT=N, -DRESET_PRESSED=<the button's pressed level>. It plays
// the host's serial port: each stdin line is "HEX WANT" (HEX: bytes to send, two hex digits each, or "-" for none;
// WANT: bytes to receive). The harness drives uart_rx bit by bit (8N1, least significant bit first, CLKS_PER_BIT
// cycles per bit), decodes uart_tx by sampling each bit in its middle while it sends, and prints one line with the
// bytes received in hex ("-" for none) once WANT bytes have arrived or the line has been quiet for IDLE_BITS bit
// times after the last byte was sent (fewer bytes: what a serial port's read timeout returns). A stop bit that is
// not high is a framing error: exit 1. The button stays released; the design resets itself at power-on.
#include <cstdio>
#include <deque>
#include <iostream>
#include <sstream>
#include <string>

#include "verilated.h"
#include "Vtop.h"

#ifndef IDLE_BITS
#define IDLE_BITS 20000  // bit times: longer than a frame's latency at any folding the tests use
#endif

struct Line {  // uart_tx of the design, decoded
    int state = -1;  // -1 idle, 0..7 data bits, 8 stop bit
    long count = 0;
    unsigned shift = 0;
    bool sample(int tx, std::string& out) {  // one clock cycle; false on a framing error
        if (state < 0) {
            if (!tx) {
                state = 0;
                count = CLKS_PER_BIT + CLKS_PER_BIT / 2;  // the middle of data bit 0
            }
            return true;
        }
        if (--count > 0) return true;
        if (state < 8) {
            shift |= (unsigned)(tx & 1) << state;
            state++;
            count = CLKS_PER_BIT;
            return true;
        }
        if (!tx) return false;
        char buf[3];
        std::snprintf(buf, sizeof buf, "%02x", shift & 0xff);
        out += buf;
        state = -1;
        shift = 0;
        return true;
    }
};

int main(int argc, char** argv) {
    Verilated::commandArgs(argc, argv);
    Vtop top;
    Line line;
    std::string received;
    top.clk = 0;
    top.uart_rx = 1;
    top.reset_btn = !RESET_PRESSED;
    auto cycle = [&]() -> bool {
        top.clk = 1;
        top.eval();
        top.clk = 0;
        top.eval();
        return line.sample(top.uart_tx, received);
    };
    for (int i = 0; i < 64; i++) cycle();  // the power-on reset
    for (std::string text; std::getline(std::cin, text);) {
        std::istringstream fields(text);
        std::string hex;
        long want = 0;
        if (!(fields >> hex >> want)) continue;
        std::deque<int> bits;  // the line level of each bit time still to send
        for (std::size_t i = 0; hex != "-" && i + 1 < hex.size(); i += 2) {
            const unsigned byte = std::stoul(hex.substr(i, 2), nullptr, 16);
            bits.push_back(0);
            for (int b = 0; b < 8; b++) bits.push_back((byte >> b) & 1);
            bits.push_back(1);
        }
        received.clear();
        long quiet = 0;
        while ((long)received.size() / 2 < want) {
            const std::size_t before = received.size();
            top.uart_rx = bits.empty() ? 1 : bits.front();
            for (int c = 0; c < CLKS_PER_BIT; c++) {
                if (!cycle()) {
                    std::fprintf(stderr, "framing error on uart_tx after %zu bytes\n", received.size() / 2);
                    return 1;
                }
            }
            if (!bits.empty()) {
                bits.pop_front();
                quiet = 0;
            } else if (received.size() == before && line.state < 0 && ++quiet > IDLE_BITS) {
                break;
            } else if (received.size() != before) {
                quiet = 0;
            }
        }
        while (!bits.empty()) {  // the host's bytes go out even when it stops listening
            top.uart_rx = bits.front();
            bits.pop_front();
            for (int c = 0; c < CLKS_PER_BIT; c++) cycle();
        }
        top.uart_rx = 1;
        std::printf("%s\n", received.empty() ? "-" : received.c_str());
        std::fflush(stdout);
    }
    top.final();
    return 0;
}
