# syntax=docker/dockerfile:1
#
# Container images of the serving server.
#   docker build -t serving .                      CPU image (the default, last stage)
#   docker build -t serving:cuda --target cuda .   NVIDIA image with ONNX Runtime's CUDA build
# Both run `dotnet serving.dll serve` as a non-root user; configure with Serving__* variables (deploy/README.md).

ARG DOTNET_VERSION=10.0
# The CUDA major of this base has to match the one ONNX Runtime's GPU package was built against; override it with
# --build-arg CUDA_IMAGE=... when a release moves.
ARG CUDA_IMAGE=nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04

# Restore layer: only the project files, so that editing sources does not invalidate the package download.
FROM --platform=$BUILDPLATFORM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION} AS restore
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Contracts/Contracts.csproj src/Contracts/
COPY src/Kernels/Kernels.csproj src/Kernels/
COPY src/Scheduler/Scheduler.csproj src/Scheduler/
COPY src/Server/Server.csproj src/Server/

FROM restore AS publish-cpu
ARG TARGETARCH
RUN dotnet restore src/Server/Server.csproj -a "$TARGETARCH"
COPY src/ src/
RUN dotnet publish src/Server/Server.csproj -c Release -a "$TARGETARCH" --no-restore --self-contained false -o /app

# Same build with Microsoft.ML.OnnxRuntime.Gpu.Linux in place of the CPU runtime (see src/Kernels/Kernels.csproj).
FROM restore AS publish-cuda
ARG TARGETARCH
RUN dotnet restore src/Server/Server.csproj -a "$TARGETARCH" -p:OnnxRuntimeFlavor=Gpu
COPY src/ src/
RUN dotnet publish src/Server/Server.csproj -c Release -a "$TARGETARCH" --no-restore --self-contained false \
      -p:OnnxRuntimeFlavor=Gpu -o /app

# The ASP.NET runtime comes from Microsoft's image (Ubuntu 24.04 like the CUDA base) rather than a package feed.
FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION} AS aspnet-runtime

FROM ${CUDA_IMAGE} AS cuda
# ca-certificates and OpenSSL for hf: downloads over HTTPS; globalization is invariant, so no ICU.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3t64 tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 1654 app \
 && useradd --uid 1654 --gid 1654 --no-create-home --shell /usr/sbin/nologin app \
 && mkdir -p /models /cache/huggingface \
 && chown app:app /models /cache/huggingface
COPY --from=aspnet-runtime /usr/share/dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
ENV DOTNET_ROOT=/usr/share/dotnet \
    APP_UID=1654 \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    Serving__Host=0.0.0.0 \
    Serving__Port=8000 \
    Serving__GrpcPort=8001 \
    Serving__LogFormat=json \
    HF_HOME=/cache/huggingface
WORKDIR /app
COPY --from=publish-cuda /app ./
USER 1654:1654
EXPOSE 8000 8001
VOLUME ["/models", "/cache/huggingface"]
ENTRYPOINT ["dotnet", "serving.dll", "serve"]

# Default target: the CPU image.
FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION} AS cpu
RUN mkdir -p /models /cache/huggingface && chown "$APP_UID:$APP_UID" /models /cache/huggingface
# The server binds its own Kestrel endpoints from Serving__Host/Port/GrpcPort; the base image's
# ASPNETCORE_HTTP_PORTS=8080 would only log an "overriding addresses" warning, so it is cleared.
ENV ASPNETCORE_HTTP_PORTS= \
    Serving__Host=0.0.0.0 \
    Serving__Port=8000 \
    Serving__GrpcPort=8001 \
    Serving__LogFormat=json \
    HF_HOME=/cache/huggingface
WORKDIR /app
COPY --from=publish-cpu /app ./
USER $APP_UID
EXPOSE 8000 8001
VOLUME ["/models", "/cache/huggingface"]
ENTRYPOINT ["dotnet", "serving.dll", "serve"]
