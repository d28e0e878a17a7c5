#!/usr/bin/env bash
# fpgaq toolchain image entrypoint: source the Xilinx tools mounted from the host, then run the command.
#
# The tools are looked up under $XILINX_ROOT (default /tools/Xilinx) for version $XILINX_VERSION, in both layouts
# AMD has used: ROOT/TOOL/VERSION/settings64.sh (up to 2024.2) and ROOT/VERSION/TOOL/settings64.sh (2025.1 on),
# for TOOL in Vitis_HLS, Vitis (which carries vitis_hls from 2024.2) and Vivado. Without them fpgaq still builds,
# estimates and C-simulates; only `fpgaq synth` needs them, and says so.
set -euo pipefail

root="${XILINX_ROOT:-/tools/Xilinx}"
version="${XILINX_VERSION:-}"
sourced=()
if [ -n "$version" ]; then
    for tool in Vitis_HLS Vitis Vivado; do
        for settings in "$root/$tool/$version/settings64.sh" "$root/$version/$tool/settings64.sh"; do
            if [ -f "$settings" ]; then
                set +u  # the vendor scripts read unset variables
                # shellcheck disable=SC1090
                source "$settings"
                set -u
                sourced+=("$tool")
                break
            fi
        done
    done
fi

if [ "${#sourced[@]}" -eq 0 ]; then
    {
        echo "fpgaq toolchain: no Xilinx tools found (looked for $root/{Vitis_HLS,Vitis,Vivado}/${version:-\$XILINX_VERSION}/settings64.sh)."
        echo "  fpgaq build, csim, demo and quantize work without them. For fpgaq synth, mount your installation and"
        echo "  name its version: docker run -v /tools/Xilinx:/tools/Xilinx:ro -e XILINX_VERSION=2024.2 ..."
    } >&2
else
    echo "fpgaq toolchain: using ${sourced[*]} $version from $root" >&2
fi

if [ "$#" -eq 0 ]; then
    set -- bash
fi
exec "$@"
