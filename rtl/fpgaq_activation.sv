// The activation of one lane, combinational: the matrix-vector unit's (fpgaq_mvu.sv) and the standalone kernel's
// (fpgaq_threshold.sv). With y = -x where negated: BASE + #{l : y >= t[l]} (ACT = 1), or the exact requantizer
// BASE + clip((m * y + o) >>> SHIFT, 0, LEVELS) computed in P_BITS (ACT = 2, fpgaq.plan.requant proves it equal
// to the thresholds it replaces); ACT = 0 passes x through, resized. x is signed (an unsigned value arrives with a
// zero sign bit).
`default_nettype none

module fpgaq_activation #(
    parameter integer X_BITS = 8,
    parameter integer ACT = 1,
    parameter integer LEVELS = 1,
    parameter integer T_BITS = 1,
    parameter integer BASE = 0,
    parameter integer M_BITS = 1,
    parameter integer O_BITS = 1,
    parameter integer P_BITS = 1,
    parameter integer SHIFT = 0,
    parameter integer OUT_BITS = 4
) (
    input wire [X_BITS-1:0] x,
    input wire neg,
    input wire [LEVELS*T_BITS-1:0] t,
    input wire [M_BITS-1:0] m,
    input wire [O_BITS-1:0] o,
    output reg [OUT_BITS-1:0] out
);
    localparam integer CB = (X_BITS + 1 > T_BITS ? X_BITS + 1 : T_BITS) + 1;  // comparison width
    localparam integer LB = $clog2(LEVELS + 1) + 1;  // a level count, as a signed value

    reg signed [CB-1:0] y;
    reg signed [LB-1:0] count;
    reg signed [P_BITS-1:0] q;
    integer l;
    always @* begin
        y = CB'($signed(x));
        if (neg) y = -y;
        count = 0;
        q = 0;
        if (ACT == 1) begin
            for (l = 0; l < LEVELS; l = l + 1) begin
                if (y >= CB'($signed(t[l*T_BITS+:T_BITS]))) count = count + 1'b1;
            end
            out = OUT_BITS'(BASE + 32'(count));
        end else if (ACT == 2) begin
            q = P_BITS'($signed(m)) * P_BITS'(y) + P_BITS'($signed(o));
            q = q >>> SHIFT;
            if (q < 0) q = 0;
            else if (q > P_BITS'(LEVELS)) q = P_BITS'(LEVELS);
            out = OUT_BITS'(BASE + 32'(q));
        end else begin
            out = OUT_BITS'($signed(x));
        end
    end
endmodule

`default_nettype wire
