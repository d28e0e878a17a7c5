// Stream width conversion: words of IN_W elements to words of OUT_W elements, order kept (element 0 in the low
// bits), each element resized from IN_BITS to OUT_BITS (sign-extended when IN_SIGNED). The RTL twin of
// hls/fpgaq/streams.h dwc: STEP = gcd(IN_W, OUT_W) elements move per cycle. The next input word is taken in the
// cycle that moves the last elements of the current one, and a finished output word waits in the output
// register while the next one fills, so a source and a sink that never wait see one step per cycle.
`default_nettype none

module fpgaq_dwc #(
    parameter integer IN_W = 4,
    parameter integer OUT_W = 2,
    parameter integer STEP = 2,  // gcd(IN_W, OUT_W)
    parameter integer IN_BITS = 4,
    parameter integer OUT_BITS = 4,
    parameter integer IN_SIGNED = 0
) (
    input wire clk,
    input wire rst,
    input wire [IN_W*IN_BITS-1:0] in_data,
    input wire in_valid,
    output wire in_ready,
    output reg [OUT_W*OUT_BITS-1:0] out_data,
    output reg out_valid,
    input wire out_ready
);
    localparam integer TB = $clog2(IN_W + 1);
    localparam integer FB = $clog2(OUT_W + 1);

    reg [IN_W*IN_BITS-1:0] word;
    reg have;  // `word` holds elements not yet moved
    reg [TB-1:0] taken;  // elements of `word` already moved
    reg [OUT_W*OUT_BITS-1:0] fill;
    reg [FB-1:0] filled;

    wire completes = filled + FB'(STEP) == FB'(OUT_W);
    wire step = have && (!completes || !out_valid || out_ready);
    wire drains = step && taken + TB'(STEP) == TB'(IN_W);
    assign in_ready = !have || drains;

    // the STEP elements this cycle moves, resized
    reg [STEP*OUT_BITS-1:0] moved;
    reg [IN_BITS-1:0] element;
    integer e;
    always @* begin
        for (e = 0; e < STEP; e = e + 1) begin
            element = word[(32'(taken)+e)*IN_BITS+:IN_BITS];
            if (IN_SIGNED != 0) moved[e*OUT_BITS+:OUT_BITS] = OUT_BITS'($signed(element));
            else moved[e*OUT_BITS+:OUT_BITS] = OUT_BITS'(element);
        end
    end

    reg [OUT_W*OUT_BITS-1:0] next_fill;
    always @* begin
        next_fill = fill;
        next_fill[32'(filled)*OUT_BITS+:STEP*OUT_BITS] = moved;
    end

    always @(posedge clk) begin
        if (rst) begin
            have <= 1'b0;
            taken <= 0;
            filled <= 0;
            out_valid <= 1'b0;
        end else begin
            if (out_valid && out_ready) out_valid <= 1'b0;
            if (step) begin
                if (completes) begin
                    out_data <= next_fill;
                    out_valid <= 1'b1;
                    filled <= 0;
                end else begin
                    fill <= next_fill;
                    filled <= filled + FB'(STEP);
                end
                taken <= drains ? 0 : taken + TB'(STEP);
                if (drains) have <= 1'b0;
            end
            if (in_valid && in_ready) begin
                word <= in_data;
                have <= 1'b1;
                taken <= 0;
            end
        end
    end
endmodule

`default_nettype wire
