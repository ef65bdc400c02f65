// Why build.cake's TsanCheck turns off CoreCLR's thread-suspend injection (run.sh runs this).
//
// CoreCLR stops a thread for the GC by sending it a signal whose handler reads, and may rewrite, the
// context the signal interrupted. ThreadSanitizer defers an asynchronous signal until the thread's
// next intercepted libc call, and hands the handler the context saved at arrival. Two threads here
// spin in deep managed frames (loops without calls: the GC can stop them only by that signal), return,
// and then call TSan's memset without leaving cooperative mode. A deferred signal handled there
// describes frames that are gone, and the GC walks and patches them. A third thread allocates, so
// the GC runs thousands of times. Exit 0: every result matched; 1: a result changed; a hang or a
// crash is the failure as it shows in the test host.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

int seconds = args.Length > 0 ? int.Parse(args[0]) : 10;
long mismatches = 0;
int collectionsBefore = GC.CollectionCount(0);
DateTime stop = DateTime.UtcNow.AddSeconds(seconds);

var spinners = Enumerable.Range(0, 2).Select(_ => new Thread(() =>
{
    var buffer = new byte[256];
    for (long iteration = 0; DateTime.UtcNow < stop; iteration++)
    {
        long first = DeepFrames.Spin(12, iteration);
        InterceptedLibc.Clear(buffer);
        if (DeepFrames.Spin(12, iteration) != first)
        {
            Interlocked.Increment(ref mismatches);
        }
    }
})).ToList();
var allocator = new Thread(() =>
{
    var kept = new object[64];
    for (int i = 0; DateTime.UtcNow < stop; i++)
    {
        kept[i & 63] = new byte[1000];
    }
});

spinners.ForEach(t => t.Start());
allocator.Start();
spinners.ForEach(t => t.Join());
allocator.Join();
Console.WriteLine($"{mismatches} mismatched results over {GC.CollectionCount(0) - collectionsBefore} gen0 collections");
return mismatches == 0 ? 0 : 1;

internal static class DeepFrames
{
    /// <summary>A chain of <paramref name="depth"/> frames, the last spinning in a loop without calls.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static long Spin(int depth, long seed)
    {
        if (depth == 0)
        {
            long a = seed, b = seed * 3 + 1;
            for (int i = 0; i < 3000; i++)
            {
                a += i;
                b ^= a;
                a = (a << 1) ^ (b >> 3);
            }

            return a ^ b;
        }

        long[] local = [seed, depth];
        return Spin(depth - 1, seed + depth) + local[0] * 7 + local[1];
    }
}

internal static unsafe class InterceptedLibc
{
    // memset as the global scope resolves it: TSan's interceptor when libtsan is preloaded. Called
    // without a GC transition, so the thread stays in cooperative mode, as the runtime's own calls do.
    private static readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<void*, int, nuint, void*> MemSet =
        (delegate* unmanaged[Cdecl, SuppressGCTransition]<void*, int, nuint, void*>)NativeLibrary.GetExport(NativeLibrary.GetMainProgramHandle(), "memset");

    public static void Clear(byte[] bytes)
    {
        fixed (byte* start = bytes)
        {
            MemSet(start, 0, (nuint)bytes.Length);
        }
    }
}
