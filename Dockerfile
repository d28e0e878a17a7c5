# fpgaq toolchain image: everything fpgaq needs except the Xilinx tools, which cannot be redistributed and are
# mounted from the host (as FINN does). See README, "Synthesis".
#
#   docker build -t fpgaq-toolchain .
#   docker run --rm -it -v /tools/Xilinx:/tools/Xilinx:ro -e XILINX_VERSION=2024.2 \
#       -v "$PWD":/work -w /work fpgaq-toolchain fpgaq synth build --bitstream
#
# Ubuntu 22.04 LTS: a supported OS for Vitis HLS / Vivado 2022.1-2024.2.
FROM ubuntu:22.04

ENV DEBIAN_FRONTEND=noninteractive \
    LANG=en_US.UTF-8 \
    LC_ALL=en_US.UTF-8 \
    XILINX_ROOT=/tools/Xilinx \
    FINN_PYTHON=/opt/finn-venv/bin/python \
    PATH=/opt/fpgaq-venv/bin:$PATH

# Python 3.11 for fpgaq; g++ for the C-simulation; what Vitis HLS and Vivado need on Ubuntu (their installers'
# dependency list: libtinfo5/libncurses5, locales, X libraries for the batch tools, gcc-multilib, make).
RUN apt-get update && apt-get install -y --no-install-recommends \
        python3.11 python3.11-venv python3.11-dev \
        g++ gcc-multilib make git ca-certificates \
        locales libtinfo5 libncurses5 \
        libx11-6 libxext6 libxrender1 libxtst6 libxi6 libfreetype6 libfontconfig1 \
        graphviz unzip zip \
    && locale-gen en_US.UTF-8 \
    && rm -rf /var/lib/apt/lists/*

# fpgaq in its own virtual environment; torch first, as a CPU build (otherwise pip pulls GBs of CUDA packages).
RUN python3.11 -m venv /opt/fpgaq-venv \
    && /opt/fpgaq-venv/bin/pip install --no-cache-dir --upgrade pip \
    && /opt/fpgaq-venv/bin/pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

# finn-plus in a separate virtual environment: it pins older brevitas/onnx than fpgaq uses.
RUN python3.11 -m venv /opt/finn-venv \
    && /opt/finn-venv/bin/pip install --no-cache-dir --upgrade pip \
    && /opt/finn-venv/bin/pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
    && /opt/finn-venv/bin/pip install --no-cache-dir finn-plus==1.6.1 psutil

COPY . /opt/fpgaq-src
RUN /opt/fpgaq-venv/bin/pip install --no-cache-dir /opt/fpgaq-src

COPY docker/entrypoint.sh /usr/local/bin/fpgaq-entrypoint
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/fpgaq-entrypoint"]
CMD ["bash"]
