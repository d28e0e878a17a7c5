// The reset of a board top level: high for the first 16 clock cycles after configuration (the flip-flops'
// initial values, which the ECP5 loads with the bitstream) and while the reset button is pressed (ACTIVE_HIGH:
// pressed = high), the button synchronised by two flip-flops; `rst` is a register, synchronous to clk.
`default_nettype none

module fpgaq_reset #(
    parameter integer ACTIVE_HIGH = 1
) (
    input wire clk,
    input wire button,
    output reg rst
);
    reg [3:0] power_on;
    reg [1:0] sync;
    initial begin  // the values the bitstream loads (Yosys: init attributes)
        power_on = 4'd0;
        rst = 1'b1;
    end
    wire pressed = ACTIVE_HIGH != 0 ? sync[1] : !sync[1];

    always @(posedge clk) begin
        sync <= {sync[0], button};
        if (power_on != 4'hf) power_on <= power_on + 1'b1;
        rst <= power_on != 4'hf || pressed;
    end
endmodule

`default_nettype wire
