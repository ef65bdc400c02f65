using MixKV.Options;
using MixKV.Tensors;
using MixKV.Validation;

namespace MixKV;

public sealed partial class KernelBackend
{
    /// <summary>
    /// <paramref name="inputs"/> copied to the device once, with outputs and workspace allocated once:
    /// each <see cref="ResidentLayer.Run"/> is what an engine pays per layer over its own buffers (the
    /// device API's <see cref="Enqueue"/> and a wait), with no transfer and no allocation.
    /// </summary>
    internal ResidentLayer Resident(LayerInputs inputs, CompressionOptions options, LayerPosition layer) => ResidentLayer.Open(this, inputs, options, layer);

    /// <summary>One layer resident on the device (see <see cref="Resident"/>).</summary>
    internal sealed class ResidentLayer : IDisposable
    {
        private readonly KernelBackend backend;
        private readonly DeviceCall call;

        private ResidentLayer(KernelBackend backend, DeviceCall call) => (this.backend, this.call) = (backend, call);

        internal static ResidentLayer Open(KernelBackend backend, LayerInputs inputs, CompressionOptions options, LayerPosition layer)
        {
            InputValidator.Validate(inputs, options, layer);
            return new ResidentLayer(backend, DeviceCall.Upload(backend, inputs, options, layer));
        }

        /// <summary>Queues the whole layer and waits for it; returns the rows kept (the last cu_lens).</summary>
        public int Run()
        {
            backend.Enqueue(call.Plan, call.Keys, call.Values, call.Queries, call.Output, call.Workspace.Pointer, call.Workspace.Bytes);
            backend.runtime.Synchronize();
            return backend.ReadInts(call.Output.CuLens.AddBytes((long)call.Plan.KvHeads * sizeof(int)), 1)[0];
        }

        public void Dispose() => call.Dispose();
    }
}
