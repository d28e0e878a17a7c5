// A UART frame interface for an accelerator's AXI-Stream ports: bytes received on `rx` are assembled into input
// words of IN_WORD bits (little-endian: the first byte is bits [7:0], as fpgaq.host.Host.pack_input lays out the
// words), kept in a FIFO of IN_DEPTH words and offered on m_data/m_valid/m_ready; output words taken from
// s_data/s_valid/s_ready are kept in a FIFO of OUT_DEPTH words and sent as OUT_WORD / 8 bytes, least significant
// first, on `tx`. IN_DEPTH and OUT_DEPTH are one frame's words, so a host that sends one frame and reads its
// output before sending the next never overruns the receiver, which cannot be stalled (a byte that arrives while
// the input FIFO is full is lost; the host driver never lets that happen). Checked: tests/rtl/test_ecp5.py.
`default_nettype none

module fpgaq_uart #(
    parameter integer IN_WORD = 8,
    parameter integer OUT_WORD = 8,
    parameter integer IN_DEPTH = 2,
    parameter integer OUT_DEPTH = 2,
    parameter integer CLKS_PER_BIT = 217
) (
    input wire clk,
    input wire rst,
    input wire rx,
    output wire tx,
    output wire [IN_WORD-1:0] m_data,
    output wire m_valid,
    input wire m_ready,
    input wire [OUT_WORD-1:0] s_data,
    input wire s_valid,
    output wire s_ready
);
    localparam integer IN_BYTES = IN_WORD / 8;
    localparam integer OUT_BYTES = OUT_WORD / 8;
    localparam integer IB = $clog2(IN_BYTES + 1);
    localparam integer OB = $clog2(OUT_BYTES + 1);

    // bytes -> input words
    wire [7:0] rx_data;
    wire rx_valid;
    fpgaq_uart_rx #(.CLKS_PER_BIT(CLKS_PER_BIT)) receiver (
        .clk(clk), .rst(rst), .rx(rx), .out_data(rx_data), .out_valid(rx_valid)
    );
    reg [IN_WORD-1:0] word;
    reg [IB-1:0] have;  // bytes of `word` received
    reg word_valid;  // one cycle: `word` is complete
    wire word_ready;
    wire unused_word_ready = word_ready;  // a full FIFO loses the word (see above)
    always @(posedge clk) begin
        word_valid <= 1'b0;
        if (rst) begin
            word <= 0;
            have <= 0;
        end else if (rx_valid) begin
            word <= IN_WORD'({rx_data, word} >> 8);
            if (have == IB'(IN_BYTES - 1)) begin
                have <= 0;
                word_valid <= 1'b1;
            end else begin
                have <= have + 1'b1;
            end
        end
    end
    fpgaq_fifo #(.BITS(IN_WORD), .DEPTH(IN_DEPTH)) in_fifo (
        .clk(clk), .rst(rst),
        .in_data(word), .in_valid(word_valid), .in_ready(word_ready),
        .out_data(m_data), .out_valid(m_valid), .out_ready(m_ready)
    );

    // output words -> bytes
    wire [OUT_WORD-1:0] out_word;
    wire out_valid;
    reg [OUT_WORD-1:0] bytes;
    reg [OB-1:0] left;  // bytes of `bytes` still to send
    wire tx_ready;
    wire take = left == 0 && out_valid;
    fpgaq_fifo #(.BITS(OUT_WORD), .DEPTH(OUT_DEPTH)) out_fifo (
        .clk(clk), .rst(rst),
        .in_data(s_data), .in_valid(s_valid), .in_ready(s_ready),
        .out_data(out_word), .out_valid(out_valid), .out_ready(take)
    );
    always @(posedge clk) begin
        if (rst) begin
            bytes <= 0;
            left <= 0;
        end else if (take) begin
            bytes <= out_word;
            left <= OB'(OUT_BYTES);
        end else if (left != 0 && tx_ready) begin
            bytes <= bytes >> 8;
            left <= left - 1'b1;
        end
    end
    fpgaq_uart_tx #(.CLKS_PER_BIT(CLKS_PER_BIT)) transmitter (
        .clk(clk), .rst(rst), .in_data(bytes[7:0]), .in_valid(left != 0), .in_ready(tx_ready), .tx(tx)
    );
endmodule

`default_nettype wire
