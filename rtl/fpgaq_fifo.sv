// A FIFO of DEPTH words between two kernels (the depths the plan gives its streams): a circular buffer with a
// registered count; a word written in one cycle can be read in the next, and a full FIFO takes a word in the
// cycle one leaves (no bubble at full throughput).
`default_nettype none

module fpgaq_fifo #(
    parameter integer BITS = 8,
    parameter integer DEPTH = 2
) (
    input wire clk,
    input wire rst,
    input wire [BITS-1:0] in_data,
    input wire in_valid,
    output wire in_ready,
    output wire [BITS-1:0] out_data,
    output wire out_valid,
    input wire out_ready
);
    localparam integer AB = DEPTH > 1 ? $clog2(DEPTH) : 1;
    localparam integer CB = $clog2(DEPTH + 1);

    reg [BITS-1:0] mem[0:DEPTH-1];
    reg [AB-1:0] head, tail;
    reg [CB-1:0] count;

    wire pop = out_valid && out_ready;
    assign out_valid = count != 0;
    assign in_ready = count != CB'(DEPTH) || pop;
    wire push = in_valid && in_ready;
    assign out_data = mem[head];

    always @(posedge clk) begin
        if (rst) begin
            head <= 0;
            tail <= 0;
            count <= 0;
        end else begin
            if (push) begin
                mem[tail] <= in_data;
                tail <= tail == AB'(DEPTH - 1) ? 0 : tail + 1'b1;
            end
            if (pop) head <= head == AB'(DEPTH - 1) ? 0 : head + 1'b1;
            if (push && !pop) count <= count + 1'b1;
            else if (pop && !push) count <= count - 1'b1;
        end
    end
endmodule

`default_nettype wire
