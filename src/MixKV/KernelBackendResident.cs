using MixKV.Device;
using MixKV.Options;
using MixKV.Tensors;
using MixKV.Validation;

namespace MixKV;

public sealed partial class KernelBackend
{
    /// <summary>
    /// <paramref name="inputs"/> copied to the device once, with outputs and workspace allocated once:
    /// each <see cref="ResidentLayer.Run"/> is what an engine pays per layer over its own buffers (the
    /// device API's <see cref="Enqueue"/>, or one launch of the layer captured by
    /// <see cref="CaptureEnqueue"/> when <paramref name="graph"/>, and a wait), with no transfer and no
    /// allocation.
    /// </summary>
    internal ResidentLayer Resident(LayerInputs inputs, CompressionOptions options, LayerPosition layer, bool graph = false) => ResidentLayer.Open(this, inputs, options, layer, graph);

    /// <summary>One layer resident on the device (see <see cref="Resident"/>).</summary>
    internal sealed class ResidentLayer : IDisposable
    {
        private readonly KernelBackend backend;
        private readonly DeviceCall call;
        private readonly DeviceLayerGraph? graph;

        private ResidentLayer(KernelBackend backend, DeviceCall call, DeviceLayerGraph? graph) => (this.backend, this.call, this.graph) = (backend, call, graph);

        internal static ResidentLayer Open(KernelBackend backend, LayerInputs inputs, CompressionOptions options, LayerPosition layer, bool graph)
        {
            backend.ThrowIfDisposed();
            InputValidator.Validate(inputs, options, layer);
            DeviceCall call = DeviceCall.Upload(backend, inputs, options, layer);
            try
            {
                DeviceLayerGraph? captured = graph
                    ? backend.CaptureEnqueue(call.Plan, call.Keys, call.Values, call.Queries, call.Output, call.Workspace.Pointer, call.Workspace.Bytes)
                    : null;
                return new ResidentLayer(backend, call, captured);
            }
            catch
            {
                call.Dispose();
                throw;
            }
        }

        /// <summary>Queues the whole layer (or launches its graph) and waits for it.</summary>
        public void Run()
        {
            if (graph is not null)
            {
                graph.Launch();
            }
            else
            {
                backend.Enqueue(call.Plan, call.Keys, call.Values, call.Queries, call.Output, call.Workspace.Pointer, call.Workspace.Bytes);
            }

            backend.runtime.Synchronize();
        }

        /// <summary>The rows the last run kept (the last cu_lens).</summary>
        public int KeptTokens() => backend.ReadInts(call.Output.CuLens.AddBytes((long)call.Plan.KvHeads * sizeof(int)), 1)[0];

        public void Dispose()
        {
            graph?.Dispose();
            call.Dispose();
        }
    }
}
