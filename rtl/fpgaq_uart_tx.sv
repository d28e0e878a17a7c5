// UART transmitter, 8N1, least significant bit first: in_data is taken when in_valid and in_ready are both high
// and sent as a start bit, 8 data bits and a stop bit, each CLKS_PER_BIT cycles long, on `tx` (idle high);
// in_ready rises again when the stop bit has lasted its full bit time. Checked: tests/rtl/test_ecp5.py (the
// harness decodes tx at 4 clocks per bit).
`default_nettype none

module fpgaq_uart_tx #(
    parameter integer CLKS_PER_BIT = 217
) (
    input wire clk,
    input wire rst,
    input wire [7:0] in_data,
    input wire in_valid,
    output wire in_ready,
    output reg tx
);
    localparam integer CB = $clog2(CLKS_PER_BIT);

    reg [9:0] shift;  // stop bit, data, start bit: sent from bit 0
    reg [3:0] left;  // bits still to send
    reg [CB-1:0] count;  // cycles left of the bit on the line

    assign in_ready = left == 4'd0 && count == 0;

    always @(posedge clk) begin
        if (rst) begin
            shift <= 10'h3ff;
            left <= 4'd0;
            count <= 0;
            tx <= 1'b1;
        end else if (count != 0) begin
            count <= count - 1'b1;
        end else if (left != 4'd0) begin
            tx <= shift[0];
            shift <= {1'b1, shift[9:1]};
            left <= left - 1'b1;
            count <= CB'(CLKS_PER_BIT - 1);
        end else if (in_valid) begin
            shift <= {1'b1, in_data, 1'b0};
            left <= 4'd10;
        end
    end
endmodule

`default_nettype wire
