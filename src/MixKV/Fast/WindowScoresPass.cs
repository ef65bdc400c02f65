using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MixKV.Options;

namespace MixKV.Fast;

/// <summary>
/// Attention mass of one KV head (spec section 2), fused: the group's G·W window rows times the
/// head's keys, chunk by chunk, never materialising [Hq, W, N]. Step 1 per chunk
/// (<see cref="Begin"/>, <see cref="Gemm"/> in slices, <see cref="Finish"/>): the similarity k̂·μ of spec section 3 while the raw row is at
/// hand, the GEMM tile of the keys minus the head's mean key (softmax is invariant to a per-row
/// constant q·c, and centring shrinks the dot products the fp32 GEMM rounds; the kernel subtracts
/// it, so fp32 keys are read in place), the causal mask, and the tile's row max and Σ exp.
/// <see cref="MergeChunkStatistics"/> gives each row's max and softmax sum; step 2
/// (<see cref="AccumulateChunk"/>) turns each kept (or recomputed) exp tile into the per-key mean
/// over the window rows and reduces the G query heads. The scratch lives in the head's
/// <see cref="HeadSlot"/> (two heads are in flight, see <see cref="LayerPipeline"/>) and the worker's
/// <see cref="ChunkWorker"/>.
/// </summary>
internal static unsafe class WindowScoresPass
{
    /// <summary>
    /// Qt[d, g·W + w] = Qw[h·G + g, w, d] · log2(e) / sqrt(D); rows past G·W stay zero. The log2(e)
    /// puts the logits in log2 units, so the softmax takes 2^x (<see cref="FastExp.Exp2(float)"/>,
    /// cheaper than e^x) and the chunk statistics are merged with exp2.
    /// </summary>
    /// <param name="worker">The calling thread's worker (its row scratch widens fp16/bf16 queries).</param>
    public static void PackQueries(FastLayer layer, int head, ChunkWorker worker)
    {
        int dim = layer.Dim, rows = layer.Rows, lanes = LogitKernel.Lanes;
        float* panel = layer.SlotOf(head).QueryPanel.Pointer;
        float scale = (float)(Math.Log2(Math.E) / Math.Sqrt(dim));
        float* scratch = worker.Row.Pointer;
        // Sixteen rows at a time: scaled into the worker's key scratch (free here) as [16, D], then
        // written out a panel row of 16 at a time. Writing each query row down a panel column put
        // every store on its own cache line (~25 µs a head, on the streaming thread).
        float* block = worker.Keys.Pointer;
        for (int first = 0; first < rows; first += lanes)
        {
            for (int lane = 0; lane < lanes; lane++)
            {
                int r = first + lane;
                float* to = block + ((long)lane * dim);
                if (r >= layer.GroupRows)
                {
                    new Span<float>(to, dim).Clear(); // padding rows stay zero
                    continue;
                }

                float* q = layer.Queries.Floats((head * layer.Groups) + (r / layer.Window), r % layer.Window, scratch);
                for (int d = 0; d < dim; d++)
                {
                    to[d] = q[d] * scale;
                }
            }

            for (int d = 0; d < dim; d++)
            {
                float* to = panel + ((long)d * rows) + first;
                for (int lane = 0; lane < lanes; lane++)
                {
                    to[lane] = block[((long)lane * dim) + d];
                }
            }
        }

        if (layer.Strassen)
        {
            StrassenLogitKernel.PackPanels(panel, rows, dim, layer.SlotOf(head).StrassenPanels.Pointer);
        }
    }

    /// <summary>Step 1, start of a chunk: where its keys are (fp16/bf16 keys widened first) and the row max reset.</summary>
    public static ChunkGemm Begin(FastLayer layer, int head, int chunk, ChunkWorker worker, bool firstPass)
    {
        int first = chunk * FastLayer.ChunkTokens, count = layer.ChunkLength(chunk), rows = layer.Rows;
        // fp32 rows are read in place (the kernel broadcasts single elements, so any token stride
        // works); other dtypes are widened into the worker's [chunk, D] scratch.
        bool inPlace = layer.Keys.DType == Tensors.DType.F32;
        float* keys = inPlace ? (float*)layer.Keys.Row(head, first) : worker.Keys.Pointer;
        long stride = inPlace ? layer.Keys.TokenStride : layer.Dim;
        if (inPlace)
        {
            LogitKernel.Prefetch(keys, stride, 0, Math.Min(count, LogitKernel.PrefetchDistance), layer.Dim);
        }
        else
        {
            for (int j = 0; j < count; j++)
            {
                layer.Keys.Floats(head, first + j, keys + (j * stride));
            }
        }

        long at = (long)chunk * rows;
        float* chunkMax = layer.SlotOf(head).ChunkMax.Pointer + at;
        // Chunks without masked (future) keys get their row max from the GEMM's store; the others
        // take it after masking.
        bool maxInKernel = firstPass && first + count <= layer.Prefix + 1;
        if (maxInKernel)
        {
            new Span<float>(chunkMax, rows).Fill(float.NegativeInfinity);
        }

        // The logits go to the worker's tile, which stays in L2 from chunk to chunk; a kept exp tile is
        // then written once with streaming stores (writing logits into the 16 MB head tile would
        // first read every line of it from memory).
        bool kept = layer.StoreTiles && firstPass;
        float* exp = kept && !layer.PackedTiles ? (float*)TileOf(layer, head, chunk) : worker.Tile.Pointer;
        byte* packed = kept && layer.PackedTiles ? TileOf(layer, head, chunk) : null;
        return new ChunkGemm(chunk, first, count, keys, stride, worker.Tile.Pointer, exp, packed, chunkMax, maxInKernel, firstPass);
    }

    /// <summary>
    /// Step 1, keys [from, to) of the chunk (relative): their logit rows, the whole 12-key blocks by
    /// <see cref="StrassenLogitKernel"/> where the shape allows, the rest by <see cref="LogitKernel"/>.
    /// In the first pass the Strassen packing also starts those keys' k·μ (the worker's
    /// <see cref="ChunkWorker.KeyPartials"/>); returns how many keys from <paramref name="from"/> it did.
    /// </summary>
    public static int Gemm(FastLayer layer, int head, in ChunkGemm g, int from, int to, ChunkWorker worker)
    {
        int rows = layer.Rows, dotted = 0;
        float* rowMax = g.MaxInKernel ? g.ChunkMax : null;
        if (layer.Strassen)
        {
            float* mu = g.FirstPass ? layer.MeanUnitKey(head) : null;
            int done = StrassenLogitKernel.Compute(layer.SlotOf(head).StrassenPanels.Pointer, rows, g.Keys + (from * g.Stride), g.Stride, layer.Center(head), to - from, g.Count - from,
                layer.Dim, g.Tile + ((long)from * rows), rowMax, worker.Combinations.Pointer, mu, worker.KeyPartials.Pointer + ((long)from * LogitKernel.Lanes));
            dotted = mu == null ? 0 : done;
            from += done;
        }

        LogitKernel.Compute(layer.SlotOf(head).QueryPanel.Pointer, rows, g.Keys + (from * g.Stride), g.Stride, layer.Center(head), to - from, g.Count - from,
            layer.Dim, g.Tile + ((long)from * rows), rowMax, layer.Wide);
        return dotted;
    }

    /// <summary>
    /// Step 1, end of a chunk: mask, exp and softmax statistics, and (first pass) the similarity k̂·μ,
    /// the first <paramref name="dotted"/> keys' from the lane sums <see cref="Gemm"/> left in the
    /// worker, the others from the rows the GEMM pulled into the cache.
    /// </summary>
    public static void Finish(FastLayer layer, int head, HeadResult result, in ChunkGemm g, int dotted, ChunkWorker worker)
    {
        HeadSlot slot = layer.SlotOf(head);
        int rows = layer.Rows;
        if (g.FirstPass)
        {
            Similarity(layer, head, result, g, dotted, worker.KeyPartials.Pointer); // first, while the GEMM's key rows are nearest
        }

        MaskFuture(layer, g.Tile, g.First, g.Count);
        double* sum = g.FirstPass ? slot.ChunkSum.Pointer + ((long)g.Chunk * rows) : null;
        bool computeMax = g.FirstPass && !g.MaxInKernel;
        if (layer.RoundedExp)
        {
            // A recomputed tile (pass 2) is rounded as a kept one is packed: both paths agree bit for bit.
            TileSoftmax.ExponentiateBy64(g.Tile, g.Exp, g.Packed, g.Count, rows, g.ChunkMax, sum, computeMax, rounded: !g.FirstPass);
        }
        else
        {
            TileSoftmax.Exponentiate(g.Tile, g.Exp, g.Count, rows, g.ChunkMax, sum, computeMax, layer.Wide);
        }
    }

    /// <summary>k̂·μ of the chunk's prefix keys (spec section 3).</summary>
    private static void Similarity(FastLayer layer, int head, HeadResult result, in ChunkGemm g, int dotted, float* partials)
    {
        int dim = layer.Dim;
        bool wide = layer.Wide;
        float* mu = layer.MeanUnitKey(head);
        bool unrolled = wide && dim == 128;
        int n = g.First, end = Math.Min(g.First + g.Count, layer.Prefix);
        // Sixteen keys at a time: one shuffle-tree reduction instead of sixteen horizontal sums, and
        // the sixteen divisions as two vector ones (one by one, each widening wrote into the register
        // the last division had just produced, so the keys' divisions ran one after another).
        float* dots = stackalloc float[16];
        fixed (double* norms = result.KeyNorms, similarity = result.Similarity)
        {
            for (int started = Math.Min(end, g.First + dotted); n + 16 <= started; n += 16)
            {
                RowMath.SumsOf16(partials + ((long)(n - g.First) * LogitKernel.Lanes), dots);
                DivideByNorms(dots, norms + n, similarity + n);
            }

            for (; unrolled && n + 16 <= end; n += 16)
            {
                RowMath.Dots128x16(g.Keys + ((n - g.First) * g.Stride), g.Stride, mu, dots);
                DivideByNorms(dots, norms + n, similarity + n);
            }
        }

        for (; n < end; n++)
        {
            float* k = g.Keys + ((n - g.First) * g.Stride);
            float dot = unrolled ? RowMath.Dot128(k, mu) : RowMath.Dot(k, mu, dim, wide);
            result.Similarity[n] = dot / Math.Max(result.KeyNorms[n], SpecConstants.KeyNormFloor);
        }
    }

    /// <summary>similarity[i] = dots[i] / max(norms[i], floor) for sixteen keys, in double.</summary>
    private static void DivideByNorms(float* dots, double* norms, double* similarity)
    {
        var floor = Vector512.Create(SpecConstants.KeyNormFloor);
        (Vector512<double> lower, Vector512<double> upper) = Vector512.Widen(Vector512.Load(dots));
        (lower / Vector512.Max(Vector512.Load(norms), floor)).Store(similarity);
        (upper / Vector512.Max(Vector512.Load(norms + 8), floor)).Store(similarity + 8);
    }

    /// <summary>Step 2 of a whole prefix chunk, recomputing its exp tile when tiles are not kept.</summary>
    public static void AccumulateChunk(FastLayer layer, int head, HeadResult result, int chunk, ChunkWorker worker)
    {
        if (layer.StoreTiles)
        {
            AccumulateMass(layer, head, chunk, TileOf(layer, head, chunk), layer.TileRowBytes, layer.PackedTiles, layer.ChunkLength(chunk), result.Mass, worker);
        }
        else
        {
            ChunkGemm g = Begin(layer, head, chunk, worker, firstPass: false);
            int dotted = Gemm(layer, head, g, 0, g.Count, worker);
            Finish(layer, head, result, g, dotted, worker);
            AccumulateMass(layer, head, chunk, (byte*)g.Exp, layer.Rows * sizeof(float), packed: false, layer.ChunkLength(chunk), result.Mass, worker);
        }
    }

    private static byte* TileOf(FastLayer layer, int head, int chunk) =>
        layer.SlotOf(head).Tiles.Pointer + ((long)chunk * FastLayer.ChunkTokens * layer.TileRowBytes);

    /// <summary>Causal mask: window row w sees keys 0..P+w, so key P+j hides rows w &lt; j of every query head.</summary>
    private static void MaskFuture(FastLayer layer, float* tile, int first, int count)
    {
        int prefix = layer.Prefix, window = layer.Window;
        for (int n = Math.Max(first, prefix + 1); n < first + count; n++)
        {
            float* row = tile + ((long)(n - first) * layer.Rows);
            int hidden = n - prefix;
            for (int g = 0; g < layer.Groups; g++)
            {
                new Span<float>(row + (g * window), hidden).Fill(float.NegativeInfinity);
            }
        }
    }

    /// <summary>
    /// Row max M = max over chunks, row sum S = Σ chunk sum · 2^(chunk max - M) (double; logits are in
    /// log2 units), and each chunk's factor 2^(chunk max - M) / (S · W), divided by G too for the GQA
    /// mean; padding rows get factor 0. Sixteen rows at a time with <see cref="FastExp"/> when the
    /// wide path runs (the factors are fp32 anyway; 2^x in double per row and chunk cost ~1 ms a layer).
    /// </summary>
    public static void MergeChunkStatistics(FastLayer layer, int head)
    {
        HeadSlot slot = layer.SlotOf(head);
        int rows = layer.Rows, chunks = layer.Chunks;
        float* chunkMax = slot.ChunkMax.Pointer, factors = slot.Factors.Pointer;
        double* chunkSum = slot.ChunkSum.Pointer;
        double rowWeight = 1.0 / (layer.Window * (layer.Options.Gqa == GqaReduction.Mean ? layer.Groups : 1));
        if (layer.Wide)
        {
            for (int r = 0; r < rows; r += LogitKernel.Lanes)
            {
                MergeRowsWide(chunkMax + r, chunkSum + r, factors + r, rows, chunks, rowWeight, layer.GroupRows - r);
            }

            return;
        }

        if (Vector.IsHardwareAccelerated && rows % Vector<float>.Count == 0)
        {
            for (int r = 0; r < rows; r += Vector<float>.Count)
            {
                MergeRowsPortable(chunkMax + r, chunkSum + r, factors + r, rows, chunks, rowWeight, layer.GroupRows - r);
            }

            return;
        }

        Span<double> scaled = chunks <= 1024 ? stackalloc double[chunks] : new double[chunks];
        for (int r = 0; r < rows; r++)
        {
            if (r >= layer.GroupRows)
            {
                for (int c = 0; c < chunks; c++)
                {
                    factors[((long)c * rows) + r] = 0f;
                }

                continue;
            }

            float max = float.NegativeInfinity;
            for (int c = 0; c < chunks; c++)
            {
                max = MathF.Max(max, chunkMax[((long)c * rows) + r]);
            }

            double total = 0;
            for (int c = 0; c < chunks; c++)
            {
                float m = chunkMax[((long)c * rows) + r];
                scaled[c] = float.IsNegativeInfinity(m) ? 0.0 : double.Exp2((double)m - max); // log2 units
                total += scaled[c] * chunkSum[((long)c * rows) + r];
            }

            double weight = rowWeight / total;
            for (int c = 0; c < chunks; c++)
            {
                factors[((long)c * rows) + r] = (float)(scaled[c] * weight);
            }
        }
    }

    /// <summary>The merge of 16 rows (the vector's lanes; lanes at or past <paramref name="realRows"/> are padding).</summary>
    private static void MergeRowsWide(float* chunkMax, double* chunkSum, float* factors, int rows, int chunks, double rowWeight, int realRows)
    {
        var max = Vector512.Create(float.NegativeInfinity);
        for (int c = 0; c < chunks; c++)
        {
            max = Vector512.MaxNative(max, Vector512.Load(chunkMax + ((long)c * rows)));
        }

        // A row every chunk of which is masked cannot occur (key 0 is visible to every window row),
        // but a -inf max would turn the shift into NaN: shift by 0 there, as TileSoftmax does.
        max = Vector512.ConditionalSelect(Vector512.Equals(max, Vector512.Create(float.NegativeInfinity)), Vector512<float>.Zero, max);
        Vector512<double> lower = Vector512<double>.Zero, upper = Vector512<double>.Zero;
        for (int c = 0; c < chunks; c++)
        {
            long at = (long)c * rows;
            Vector512<float> scaled = FastExp.Exp2(Vector512.Load(chunkMax + at) - max); // -inf chunks give 0
            scaled.Store(factors + at);
            (Vector512<double> lo, Vector512<double> hi) = Vector512.Widen(scaled);
            lower = Vector512.FusedMultiplyAdd(lo, Vector512.Load(chunkSum + at), lower);
            upper = Vector512.FusedMultiplyAdd(hi, Vector512.Load(chunkSum + at + 8), upper);
        }

        Vector512<double> weight = Vector512.Create(rowWeight);
        Vector512<float> factor = Vector512.Narrow(weight / lower, weight / upper);
        Vector512<int> lane = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        factor = Vector512.ConditionalSelect(Vector512.LessThan(lane, Vector512.Create(realRows)).AsSingle(), factor, Vector512<float>.Zero);
        for (int c = 0; c < chunks; c++)
        {
            long at = (long)c * rows;
            (Vector512.Load(factors + at) * factor).Store(factors + at);
        }
    }

    /// <summary>
    /// <see cref="MergeRowsWide"/> in Vector&lt;T&gt; lanes, the same steps (a scalar 2^x in double per row
    /// and chunk took ~1.7 ms a layer on the streaming thread, the mass items waiting on it).
    /// </summary>
    private static void MergeRowsPortable(float* chunkMax, double* chunkSum, float* factors, int rows, int chunks, double rowWeight, int realRows)
    {
        int half = Vector<double>.Count;
        var negativeInfinity = new Vector<float>(float.NegativeInfinity);
        Vector<float> max = negativeInfinity;
        for (int c = 0; c < chunks; c++)
        {
            max = Vector.MaxNative(max, RowMath.Load(chunkMax + ((long)c * rows)));
        }

        max = Vector.ConditionalSelect(Vector.Equals(max, negativeInfinity), Vector<float>.Zero, max);
        Vector<double> lower = Vector<double>.Zero, upper = Vector<double>.Zero;
        for (int c = 0; c < chunks; c++)
        {
            long at = (long)c * rows;
            Vector<float> scaled = FastExp.Exp2(RowMath.Load(chunkMax + at) - max); // -inf chunks give 0
            RowMath.Store(scaled, factors + at);
            Vector.Widen(scaled, out Vector<double> lo, out Vector<double> hi);
            lower = Vector.FusedMultiplyAdd(lo, Unsafe.ReadUnaligned<Vector<double>>(chunkSum + at), lower);
            upper = Vector.FusedMultiplyAdd(hi, Unsafe.ReadUnaligned<Vector<double>>(chunkSum + at + half), upper);
        }

        var weight = new Vector<double>(rowWeight);
        Vector<float> factor = Vector.Narrow(weight / lower, weight / upper);
        factor = Vector.ConditionalSelect(Vector.LessThan(Vector<int>.Indices, new Vector<int>(realRows)).As<int, float>(), factor, Vector<float>.Zero);
        for (int c = 0; c < chunks; c++)
        {
            long at = (long)c * rows;
            RowMath.Store(RowMath.Load(factors + at) * factor, factors + at);
        }
    }

    /// <summary>mass[n] = Σ over the group's rows of exp tile · factor (GQA mean), or the max over query heads of their row sums.</summary>
    /// <param name="tile">The chunk's exp tile: fp32 rows, or <see cref="PackedExp"/> entries when <paramref name="packed"/>.</param>
    private static void AccumulateMass(FastLayer layer, int head, int chunk, byte* tile, int rowBytes, bool packed, int count, double[] mass, ChunkWorker worker)
    {
        int first = chunk * FastLayer.ChunkTokens, end = Math.Min(first + count, layer.Prefix);
        int rows = layer.Rows, window = layer.Window;
        float* factors = layer.SlotOf(head).Factors.Pointer + ((long)chunk * rows);
        bool mean = layer.Options.Gqa == GqaReduction.Mean, wide = layer.Wide, unrolled = wide && layer.GroupRows == 128;
        int ahead = StreamPrefetch.RowsAhead(rowBytes);
        // A kept tile's chunks lie back to back, so the prefetch runs on into the next chunk's rows.
        int readable = layer.StoreTiles ? layer.Prefix : end;
        StreamPrefetch.FirstRows(tile, rowBytes, Math.Min(end - first, ahead), rowBytes);
        float* unpacked = worker.Tile.Pointer; // free here: a kept tile's mass uses no GEMM tile
        PackedExp.Decoder decoder = packed ? PackedExp.CreateDecoder() : default;

        for (int n = first; n < end; n++)
        {
            byte* at = tile + ((long)(n - first) * rowBytes);
            if (n + ahead < readable)
            {
                StreamPrefetch.Row(at + ((long)ahead * rowBytes), rowBytes);
            }

            if (packed && mean && unrolled)
            {
                mass[n] = PackedExp.Dot128(decoder, at, factors);
                continue;
            }

            float* row = (float*)at;
            if (packed)
            {
                PackedExp.Load(decoder, at, rows, unpacked);
                row = unpacked;
            }

            if (mean)
            {
                mass[n] = unrolled ? RowMath.Dot128(row, factors) : RowMath.Dot(row, factors, layer.GroupRows, wide);
                continue;
            }

            float best = float.NegativeInfinity;
            for (int g = 0; g < layer.Groups; g++)
            {
                best = MathF.Max(best, RowMath.Dot(row + (g * window), factors + (g * window), window, wide));
            }

            mass[n] = best;
        }
    }
}

/// <summary>One chunk's step 1 in progress: its keys (in place or widened), logit tile, exp tile (may be the same) and row-max slot.</summary>
internal readonly unsafe struct ChunkGemm(int chunk, int first, int count, float* keys, long stride, float* tile, float* exp, byte* packed, float* chunkMax, bool maxInKernel, bool firstPass)
{
    public int Chunk { get; } = chunk;

    public int First { get; } = first;

    public int Count { get; } = count;

    public float* Keys { get; } = keys;

    public long Stride { get; } = stride;

    public float* Tile { get; } = tile;

    public float* Exp { get; } = exp;

    /// <summary>The kept tile of <see cref="PackedExp"/> entries the exp goes to instead of <see cref="Exp"/> (null when fp32).</summary>
    public byte* Packed { get; } = packed;

    public float* ChunkMax { get; } = chunkMax;

    public bool MaxInKernel { get; } = maxInKernel;

    public bool FirstPass { get; } = firstPass;
}
