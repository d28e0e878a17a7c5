// UART receiver, 8N1, least significant bit first: one byte per frame of the line `rx` (idle high). The line is
// synchronised by two flip-flops; a falling edge starts a frame, each data bit is sampled in the middle of its
// bit time (1.5, 2.5, ... bit times after the edge) and the stop bit likewise; a frame whose stop bit is low
// (a framing error) is dropped. out_valid is high for one cycle with each byte: the receiver cannot be stalled.
// CLKS_PER_BIT: clock cycles per bit (clock / baud, at least 2). Checked: tests/rtl/test_ecp5.py (bytes through
// fpgaq_board at 4 clocks per bit).
`default_nettype none

module fpgaq_uart_rx #(
    parameter integer CLKS_PER_BIT = 217
) (
    input wire clk,
    input wire rst,
    input wire rx,
    output reg [7:0] out_data,
    output reg out_valid
);
    localparam integer WAIT = CLKS_PER_BIT + CLKS_PER_BIT / 2;
    localparam integer CB = $clog2(WAIT + 1);

    reg [1:0] sync;  // settles while rst holds the receiver idle
    reg busy;
    reg [3:0] nbit;
    reg [CB-1:0] count;
    reg [7:0] shift;

    always @(posedge clk) sync <= {sync[0], rx};

    always @(posedge clk) begin
        out_valid <= 1'b0;
        if (rst) begin
            busy <= 1'b0;
            nbit <= 4'd0;
            count <= 0;
            shift <= 8'd0;
            out_data <= 8'd0;
        end else if (!busy) begin
            if (!sync[1]) begin  // the start bit's falling edge: sample data bit 0 1.5 bit times later
                busy <= 1'b1;
                nbit <= 4'd0;
                count <= CB'(WAIT - 1);
            end
        end else if (count != 0) begin
            count <= count - 1'b1;
        end else if (nbit == 4'd8) begin  // the middle of the stop bit
            busy <= 1'b0;
            if (sync[1]) begin
                out_data <= shift;
                out_valid <= 1'b1;
            end
        end else begin
            shift <= {sync[1], shift[7:1]};
            nbit <= nbit + 1'b1;
            count <= CB'(CLKS_PER_BIT - 1);
        end
    end
endmodule

`default_nettype wire
