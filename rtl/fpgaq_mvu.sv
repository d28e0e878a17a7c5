// Streaming matrix-vector unit with PE (output channels in parallel) and SIMD (inputs in parallel) folding: the
// RTL twin of hls/fpgaq/mvu.h (dense, grouped and depthwise layers; no activation, a fused multi-threshold
// activation or the fused exact requantizer), with AXI-Stream handshakes.
// Depthwise (DW = 1, FINN's vector-vector unit): G blocks of PE channels, NF = 1, input words of PE * SIMD
// elements, element s * PE + p being kernel position s of the block's channel p, used by lane p only.
//
// Vectors (any number: the counters wrap) through G groups of an OCG x KG weight matrix. Output channel o = g * OCG + j uses inputs
// g * KG .. g * KG + KG - 1. One fold per cycle: fold = (g * NF + nf) * SF + sf with NF = OCG / PE, SF = KG / SIMD,
// in that order (sf fastest), G * NF * SF cycles per vector when neither stream waits.
// - in:  G * SF words per vector of SIMD elements (element s at bits [s * IN_BITS +: IN_BITS]), read on the first
//        neuron fold of a group (nf == 0) and kept in SF words of registers for the other neuron folds;
// - out: one word of PE results per neuron fold (lane p at bits [p * OUT_BITS +: OUT_BITS]): the accumulator
//        resized to OUT_BITS (ACT = 0), BASE + #{l : y >= t[l]} with y = -acc where negated (ACT = 1), or the
//        exact requantizer BASE + clip((m * y + o) >>> SHIFT, 0, LEVELS) in P_BITS (ACT = 2, fpgaq.plan.requant);
// - weights (WEIGHTS, $readmemh): FOLDS words of PE * SIMD signed weights, weight (p, s) at bits
//   [(p * SIMD + s) * W_BITS +: W_BITS]; bias (BIAS): G * NF words of PE signed values, lane p at [p * B_BITS +:];
//   thresholds (THRESHOLDS, ACT = 1): G * NF words of PE * LEVELS signed values ascending, (p, l) at
//   [(p * LEVELS + l) * T_BITS +: T_BITS]; negation flags (NEGATE): G * NF words of PE bits; multipliers
//   (MULT, ACT = 2) and offsets (OFFSET): G * NF words of PE signed values of M_BITS and O_BITS.
// Accumulation as mvu.h: the SIMD products of a fold summed in TILE_BITS, then added to the running sum (the bias
// on sf == 0) in ACC_BITS; both widths come from fpgaq.bounds (exact ranges of the actual weights), so the
// arithmetic modulo 2^width is exact. Handshake: a word moves when valid and ready are both high at a rising
// clock edge; out_valid stays high until the word is taken, and a full output register stalls the unit only on
// the fold that would overwrite it (one register of slack, so a consumer that is always ready sees II = 1).
`default_nettype none

module fpgaq_mvu #(
    parameter integer G = 1,
    parameter integer KG = 4,
    parameter integer OCG = 4,
    parameter integer SIMD = 2,
    parameter integer PE = 2,
    parameter integer IN_BITS = 4,
    parameter integer IN_SIGNED = 0,
    parameter integer DW = 0,  // depthwise: lane p reads elements s * PE + p of a word of PE * SIMD
    parameter integer W_BITS = 4,
    parameter integer BIPOLAR = 0,  // weights of one bit: 1 is +1, 0 is -1 (a product is the input or its negation)
    parameter integer B_BITS = 8,
    parameter integer TILE_BITS = 12,
    parameter integer ACC_BITS = 16,
    parameter integer OUT_BITS = ACC_BITS,
    parameter integer ACT = 0,  // 0: the accumulator; 1: a fused multi-threshold activation
    parameter integer LEVELS = 1,
    parameter integer T_BITS = 1,
    parameter integer BASE = 0,
    parameter integer M_BITS = 1,
    parameter integer O_BITS = 1,
    parameter integer P_BITS = 1,
    parameter integer SHIFT = 0,
    parameter WEIGHTS = "weights.mem",
    parameter BIAS = "bias.mem",
    parameter THRESHOLDS = "thresholds.mem",
    parameter NEGATE = "negate.mem",
    parameter MULT = "mult.mem",
    parameter OFFSET = "offset.mem",
    parameter integer IN_W = DW != 0 ? PE * SIMD : SIMD  // elements per input word (derived; not overridden)
) (
    input wire clk,
    input wire rst,  // synchronous, active high
    input wire [IN_W*IN_BITS-1:0] in_data,
    input wire in_valid,
    output wire in_ready,
    output reg [PE*OUT_BITS-1:0] out_data,
    output reg out_valid,
    input wire out_ready
);
    localparam integer SF = KG / SIMD;
    localparam integer NF = OCG / PE;
    localparam integer FOLDS = G * NF * SF;
    localparam integer SB = SF > 1 ? $clog2(SF) : 1;  // counter widths
    localparam integer NB = NF > 1 ? $clog2(NF) : 1;
    localparam integer FB = G * NF > 1 ? $clog2(G * NF) : 1;
    localparam integer WB = FOLDS > 1 ? $clog2(FOLDS) : 1;

    reg [PE*SIMD*W_BITS-1:0] wmem[0:(1<<WB)-1];  // FOLDS words used
    reg [PE*B_BITS-1:0] bmem[0:(1<<FB)-1];  // G * NF words used
    reg [PE*LEVELS*T_BITS-1:0] tmem[0:(1<<FB)-1];
    reg [PE-1:0] nmem[0:(1<<FB)-1];
    reg [PE*M_BITS-1:0] mmem[0:(1<<FB)-1];
    reg [PE*O_BITS-1:0] omem[0:(1<<FB)-1];
    initial begin
        $readmemh(WEIGHTS, wmem, 0, FOLDS - 1);
        $readmemh(BIAS, bmem, 0, G * NF - 1);
        if (ACT == 1) $readmemh(THRESHOLDS, tmem, 0, G * NF - 1);
        if (ACT == 2) begin
            $readmemh(MULT, mmem, 0, G * NF - 1);
            $readmemh(OFFSET, omem, 0, G * NF - 1);
        end
        if (ACT != 0) $readmemh(NEGATE, nmem, 0, G * NF - 1);
    end

    reg [IN_W*IN_BITS-1:0] inbuf[0:(1<<SB)-1];
    reg [PE*ACC_BITS-1:0] acc;
    reg [SB-1:0] sf;
    reg [NB-1:0] nf;
    reg [FB-1:0] f;  // g * NF + nf: the neuron fold
    reg [WB-1:0] fold;  // f * SF + sf

    wire first_nf = nf == 0;
    wire last_sf = sf == SB'(SF - 1);
    wire slot = !out_valid || out_ready;
    assign in_ready = first_nf && (!last_sf || slot);
    wire fire = (!first_nf || in_valid) && (!last_sf || slot);

    wire [IN_W*IN_BITS-1:0] x = first_nf ? in_data : inbuf[sf];
    wire [PE*SIMD*W_BITS-1:0] w = wmem[fold];
    wire [PE*B_BITS-1:0] b = bmem[f];
    wire [PE*LEVELS*T_BITS-1:0] t = tmem[f];
    wire [PE-1:0] neg = nmem[f];
    wire [PE*M_BITS-1:0] mult = mmem[f];
    wire [PE*O_BITS-1:0] offset = omem[f];

    // the SIMD products of each lane, then the running sum
    reg [PE*ACC_BITS-1:0] sum;
    reg signed [TILE_BITS-1:0] tile;
    reg signed [IN_BITS:0] xs;  // one more bit: an unsigned input as a non-negative signed value
    reg signed [W_BITS-1:0] ws;
    reg signed [ACC_BITS-1:0] base;
    integer p, s, j;
    always @* begin
        sum = {PE * ACC_BITS{1'b0}};
        for (p = 0; p < PE; p = p + 1) begin
            tile = {TILE_BITS{1'b0}};
            for (s = 0; s < SIMD; s = s + 1) begin
                ws = w[(p*SIMD+s)*W_BITS+:W_BITS];
                j = DW != 0 ? s * PE + p : s;  // a depthwise lane reads only its own channel
                xs = {IN_SIGNED != 0 && x[j*IN_BITS+IN_BITS-1], x[j*IN_BITS+:IN_BITS]};
                if (BIPOLAR != 0) tile = w[(p*SIMD+s)*W_BITS] ? tile + TILE_BITS'(xs) : tile - TILE_BITS'(xs);
                else tile = tile + TILE_BITS'(ws) * TILE_BITS'(xs);  // sign-extended, then multiplied
            end
            base = sf == 0 ? ACC_BITS'($signed(b[p*B_BITS+:B_BITS])) : $signed(acc[p*ACC_BITS+:ACC_BITS]);
            sum[p*ACC_BITS+:ACC_BITS] = base + ACC_BITS'(tile);
        end
    end

    // then each lane's activation
    wire [PE*OUT_BITS-1:0] result;
    genvar lane;
    generate
        for (lane = 0; lane < PE; lane = lane + 1) begin : act
            fpgaq_activation #(
                .X_BITS(ACC_BITS), .ACT(ACT), .LEVELS(LEVELS), .T_BITS(T_BITS), .BASE(BASE), .M_BITS(M_BITS),
                .O_BITS(O_BITS), .P_BITS(P_BITS), .SHIFT(SHIFT), .OUT_BITS(OUT_BITS)
            ) unit (
                .x(sum[lane*ACC_BITS+:ACC_BITS]), .neg(neg[lane]), .t(t[lane*LEVELS*T_BITS+:LEVELS*T_BITS]),
                .m(mult[lane*M_BITS+:M_BITS]), .o(offset[lane*O_BITS+:O_BITS]), .out(result[lane*OUT_BITS+:OUT_BITS])
            );
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            sf <= 0;
            nf <= 0;
            f <= 0;
            fold <= 0;
            out_valid <= 1'b0;
        end else begin
            if (out_valid && out_ready) out_valid <= 1'b0;
            if (fire) begin
                acc <= sum;
                if (first_nf && NF > 1) inbuf[sf] <= in_data;
                if (last_sf) begin
                    out_data <= result;
                    out_valid <= 1'b1;
                end
                fold <= fold == WB'(FOLDS - 1) ? 0 : fold + 1'b1;
                if (last_sf) begin
                    sf <= 0;
                    f <= f == FB'(G * NF - 1) ? 0 : f + 1'b1;
                    nf <= nf == NB'(NF - 1) ? 0 : nf + 1'b1;
                end else begin
                    sf <= sf + 1'b1;
                end
            end
        end
    end
endmodule

`default_nettype wire
