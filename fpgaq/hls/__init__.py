"""IR -> HLS C++: stream plan (plan.py), Jinja rendering (codegen.py), g++ C-simulation (csim.py), builds."""
