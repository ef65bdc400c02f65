using MixKV.Device;
using MixKV.Interop;
using MixKV.Kernels.Runtime;
using MixKV.Options;

namespace MixKV;

public sealed partial class KernelBackend
{
    /// <summary>One host layer on the device: its inputs copied over, output and workspace allocated and checked.</summary>
    private sealed class DeviceCall : IDisposable
    {
        private readonly List<IDeviceAllocation> owned = [];

        private DeviceCall(DevicePlan plan) => Plan = plan;

        public DevicePlan Plan { get; }

        public DeviceTensor Keys { get; private set; }

        public DeviceTensor Values { get; private set; }

        public DeviceTensor Queries { get; private set; }

        public DeviceLayerOutput Output { get; private set; }

        public IDeviceAllocation Workspace { get; private set; } = null!;

        public static DeviceCall Upload(KernelBackend backend, LayerInputs inputs, CompressionOptions options, LayerPosition layer)
        {
            var call = new DeviceCall(backend.Plan(inputs.QueryHeads, inputs.KvHeads, inputs.Tokens, inputs.HeadDim, options, layer));
            try
            {
                DevicePlan plan = call.Plan;
                call.Take(backend.Upload(inputs.Keys, out DeviceTensor keys));
                call.Take(backend.Upload(inputs.Values, out DeviceTensor values));
                call.Take(backend.Upload(inputs.Queries, out DeviceTensor queries));
                (call.Keys, call.Values, call.Queries) = (keys, values, queries);
                int rowBytes = inputs.Keys.RowBytes;
                DevicePointer Allocate(long bytes) => call.Take(backend.runtime.Allocate(bytes)).Pointer;
                call.Output = new DeviceLayerOutput(
                    Allocate((long)plan.MaxOutputTokens * rowBytes),
                    Allocate((long)plan.MaxOutputTokens * rowBytes),
                    Allocate((long)plan.MaxOutputTokens * sizeof(int)),
                    Allocate((long)plan.KvHeads * sizeof(int)),
                    Allocate((long)(plan.KvHeads + 1) * sizeof(int)),
                    plan.MaxOutputTokens);
                call.Workspace = call.Take(backend.runtime.Allocate(plan.WorkspaceBytes));
                DeviceInputValidator.Validate(plan, keys, values, queries, call.Output, call.Workspace.Pointer, call.Workspace.Bytes);
                return call;
            }
            catch
            {
                call.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            foreach (IDeviceAllocation allocation in owned)
            {
                allocation.Dispose();
            }

            owned.Clear();
        }

        private IDeviceAllocation Take(IDeviceAllocation allocation)
        {
            owned.Add(allocation);
            return allocation;
        }
    }
}
