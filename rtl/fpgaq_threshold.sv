// Standalone multi-threshold activation (ACT = 1) or exact requantizer (ACT = 2) over a stream of WIN elements per
// word: the RTL twin of hls/fpgaq/threshold.h lanes_body. Element e of word i uses row r = i mod RPL of lane e
// (tables laid out [row][lane] here, one memory word per row): out = BASE + #{l : y >= t[l]}, or
// BASE + clip((m * y + o) >>> SHIFT, 0, LEVELS) in P_BITS, with y = -x where negated. One word per cycle.
`default_nettype none

module fpgaq_threshold #(
    parameter integer WIN = 2,
    parameter integer RPL = 1,
    parameter integer IN_BITS = 8,
    parameter integer IN_SIGNED = 0,
    parameter integer OUT_BITS = 4,
    parameter integer ACT = 1,
    parameter integer LEVELS = 15,
    parameter integer T_BITS = 9,
    parameter integer BASE = 0,
    parameter integer M_BITS = 1,
    parameter integer O_BITS = 1,
    parameter integer P_BITS = 1,
    parameter integer SHIFT = 0,
    parameter THRESHOLDS = "thresholds.mem",
    parameter NEGATE = "negate.mem",
    parameter MULT = "mult.mem",
    parameter OFFSET = "offset.mem"
) (
    input wire clk,
    input wire rst,
    input wire [WIN*IN_BITS-1:0] in_data,
    input wire in_valid,
    output wire in_ready,
    output reg [WIN*OUT_BITS-1:0] out_data,
    output reg out_valid,
    input wire out_ready
);
    localparam integer RB = RPL > 1 ? $clog2(RPL) : 1;

    reg [WIN*LEVELS*T_BITS-1:0] tmem[0:(1<<RB)-1];
    reg [WIN-1:0] nmem[0:(1<<RB)-1];
    reg [WIN*M_BITS-1:0] mmem[0:(1<<RB)-1];
    reg [WIN*O_BITS-1:0] omem[0:(1<<RB)-1];
    initial begin
        if (ACT == 1) $readmemh(THRESHOLDS, tmem, 0, RPL - 1);
        if (ACT == 2) begin
            $readmemh(MULT, mmem, 0, RPL - 1);
            $readmemh(OFFSET, omem, 0, RPL - 1);
        end
        $readmemh(NEGATE, nmem, 0, RPL - 1);
    end

    reg [RB-1:0] r;
    assign in_ready = !out_valid || out_ready;
    wire fire = in_valid && in_ready;
    wire [WIN*LEVELS*T_BITS-1:0] t = tmem[r];
    wire [WIN-1:0] neg = nmem[r];
    wire [WIN*M_BITS-1:0] mult = mmem[r];
    wire [WIN*O_BITS-1:0] offset = omem[r];

    wire [WIN*OUT_BITS-1:0] result;
    genvar e;
    generate
        for (e = 0; e < WIN; e = e + 1) begin : act
            wire [IN_BITS:0] x = {IN_SIGNED != 0 && in_data[e*IN_BITS+IN_BITS-1], in_data[e*IN_BITS+:IN_BITS]};
            fpgaq_activation #(
                .X_BITS(IN_BITS + 1), .ACT(ACT), .LEVELS(LEVELS), .T_BITS(T_BITS), .BASE(BASE), .M_BITS(M_BITS),
                .O_BITS(O_BITS), .P_BITS(P_BITS), .SHIFT(SHIFT), .OUT_BITS(OUT_BITS)
            ) unit (
                .x(x), .neg(neg[e]), .t(t[e*LEVELS*T_BITS+:LEVELS*T_BITS]), .m(mult[e*M_BITS+:M_BITS]),
                .o(offset[e*O_BITS+:O_BITS]), .out(result[e*OUT_BITS+:OUT_BITS])
            );
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            r <= 0;
            out_valid <= 1'b0;
        end else begin
            if (out_valid && out_ready) out_valid <= 1'b0;
            if (fire) begin
                out_data <= result;
                out_valid <= 1'b1;
                r <= r == RB'(RPL - 1) ? 0 : r + 1'b1;
            end
        end
    end
endmodule

`default_nettype wire
