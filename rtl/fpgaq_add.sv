// The residual add: out = M0 * a + M1 * b element by element, with integer multipliers that brought both scales
// to a common unit at compile time (the RTL twin of hls/fpgaq/elementwise.h add). Words of WIN elements on both
// inputs and the output. The sum is computed modulo 2^OUT_BITS: OUT_BITS holds the exact range of the result
// (fpgaq.bounds), so the modular sum is the exact one. A pair of words moves when both inputs are valid and the
// output register is free or being emptied (one word per cycle).
`default_nettype none

module fpgaq_add #(
    parameter integer WIN = 2,
    parameter integer A_BITS = 4,
    parameter integer A_SIGNED = 0,
    parameter integer B_BITS = 4,
    parameter integer B_SIGNED = 0,
    parameter integer OUT_BITS = 8,
    parameter integer M0 = 1,
    parameter integer M1 = 1
) (
    input wire clk,
    input wire rst,
    input wire [WIN*A_BITS-1:0] a_data,
    input wire a_valid,
    output wire a_ready,
    input wire [WIN*B_BITS-1:0] b_data,
    input wire b_valid,
    output wire b_ready,
    output reg [WIN*OUT_BITS-1:0] out_data,
    output reg out_valid,
    input wire out_ready
);
    wire slot = !out_valid || out_ready;
    assign a_ready = b_valid && slot;
    assign b_ready = a_valid && slot;
    wire fire = a_valid && b_valid && slot;

    localparam signed [OUT_BITS-1:0] K0 = OUT_BITS'(M0);
    localparam signed [OUT_BITS-1:0] K1 = OUT_BITS'(M1);
    reg [WIN*OUT_BITS-1:0] sum;
    reg signed [OUT_BITS-1:0] x, y;
    integer e;
    always @* begin
        for (e = 0; e < WIN; e = e + 1) begin
            if (A_SIGNED != 0) x = OUT_BITS'($signed(a_data[e*A_BITS+:A_BITS]));
            else x = OUT_BITS'(a_data[e*A_BITS+:A_BITS]);
            if (B_SIGNED != 0) y = OUT_BITS'($signed(b_data[e*B_BITS+:B_BITS]));
            else y = OUT_BITS'(b_data[e*B_BITS+:B_BITS]);
            sum[e*OUT_BITS+:OUT_BITS] = K0 * x + K1 * y;
        end
    end

    always @(posedge clk) begin
        if (rst) begin
            out_valid <= 1'b0;
        end else begin
            if (out_valid && out_ready) out_valid <= 1'b0;
            if (fire) begin
                out_data <= sum;
                out_valid <= 1'b1;
            end
        end
    end
endmodule

`default_nettype wire
