using MixKV.Options;

namespace MixKV.Fast;

/// <summary>
/// Attention mass of one KV head (spec section 2), fused: the group's G·W window rows times the
/// head's keys, chunk by chunk, never materialising [Hq, W, N]. Pass 1 per chunk: pack the keys
/// (fp32, minus the head's mean key — softmax is invariant to a per-row constant, and centring
/// shrinks the dot products the fp32 GEMM rounds), the similarity k̂·μ of spec section 3 while the
/// raw row is at hand, the GEMM tile, the causal mask, and the tile's row max and Σ exp. Merging
/// the chunk statistics gives each row's max and softmax sum; pass 2 turns each kept (or
/// recomputed) exp tile into the per-key mean over the window rows and reduces the G query heads.
/// Memory traffic: K once more (after <see cref="HeadStatsPass"/>), plus the head's exp tiles
/// written and read once when they are kept.
/// </summary>
internal static unsafe class WindowScoresPass
{
    public static void Run(FastLayer layer, int head, HeadResult result)
    {
        FastWorkspace ws = layer.Workspace;
        PackQueries(layer, head, ws.QueryPanel.Pointer);

        layer.Scheduler.Run(layer.Chunks, (chunk, worker) => ComputeChunk(layer, head, result, chunk, ws.Worker(worker), firstPass: true));
        MergeChunkStatistics(layer);

        int scoredChunks = (layer.Prefix + FastLayer.ChunkTokens - 1) / FastLayer.ChunkTokens;
        // Newest tiles first: they are the ones still in the last-level cache.
        layer.Scheduler.Run(scoredChunks, (index, worker) =>
        {
            int chunk = scoredChunks - 1 - index;
            float* tile = layer.StoreTiles ? TileOf(layer, chunk) : ComputeChunk(layer, head, result, chunk, ws.Worker(worker), firstPass: false);
            AccumulateMass(layer, chunk, tile, result.Mass);
        });
    }

    /// <summary>Qt[d, g·W + w] = Qw[h·G + g, w, d] / sqrt(D); rows past G·W stay zero.</summary>
    private static void PackQueries(FastLayer layer, int head, float* panel)
    {
        int dim = layer.Dim, rows = layer.Rows;
        new Span<float>(panel, dim * rows).Clear();
        float scale = (float)(1.0 / Math.Sqrt(dim));
        float* scratch = layer.Workspace.Worker(0).Row.Pointer;
        for (int g = 0; g < layer.Groups; g++)
        {
            for (int w = 0; w < layer.Window; w++)
            {
                float* q = layer.Queries.Floats((head * layer.Groups) + g, w, scratch);
                int r = (g * layer.Window) + w;
                for (int d = 0; d < dim; d++)
                {
                    panel[((long)d * rows) + r] = q[d] * scale;
                }
            }
        }
    }

    private static float* TileOf(FastLayer layer, int chunk) =>
        layer.Workspace.Tiles.Pointer + ((long)chunk * FastLayer.ChunkTokens * layer.Rows);

    /// <summary>Pack, GEMM, mask and exponentiate one chunk; returns the exp tile.</summary>
    private static float* ComputeChunk(FastLayer layer, int head, HeadResult result, int chunk, ChunkWorker worker, bool firstPass)
    {
        int dim = layer.Dim, rows = layer.Rows, prefix = layer.Prefix;
        int first = chunk * FastLayer.ChunkTokens, count = layer.ChunkLength(chunk);
        bool wide = layer.Wide;
        FastWorkspace ws = layer.Workspace;
        float* packed = worker.Keys.Pointer, mu = ws.MeanUnitKey.Pointer, center = ws.Center.Pointer;
        for (int j = 0; j < count; j++)
        {
            int n = first + j;
            float* destination = packed + ((long)j * dim);
            float* k = layer.Keys.Floats(head, n, destination);
            if (firstPass && n < prefix)
            {
                result.Similarity[n] = RowMath.Dot(k, mu, dim, wide) / Math.Max(result.KeyNorms[n], SpecConstants.KeyNormFloor);
            }

            RowMath.Subtract(k, center, destination, dim, wide);
        }

        float* tile = layer.StoreTiles ? TileOf(layer, chunk) : worker.Tile.Pointer;
        LogitKernel.Compute(ws.QueryPanel.Pointer, rows, packed, count, dim, tile, wide);
        MaskFuture(layer, tile, first, count);
        long at = (long)chunk * rows;
        TileSoftmax.Exponentiate(tile, count, rows, ws.ChunkMax.Pointer + at, firstPass ? ws.ChunkSum.Pointer + at : null, computeMax: firstPass, wide);
        return tile;
    }

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
    /// Row max M = max over chunks, row sum S = Σ chunk sum · exp(chunk max - M) (double), and each
    /// chunk's factor exp(chunk max - M) / (S · W), divided by G too for the GQA mean.
    /// </summary>
    private static void MergeChunkStatistics(FastLayer layer)
    {
        FastWorkspace ws = layer.Workspace;
        int rows = layer.Rows, chunks = layer.Chunks;
        float* chunkMax = ws.ChunkMax.Pointer, factors = ws.Factors.Pointer;
        double* chunkSum = ws.ChunkSum.Pointer;
        double rowWeight = 1.0 / (layer.Window * (layer.Options.Gqa == GqaReduction.Mean ? layer.Groups : 1));
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
                scaled[c] = float.IsNegativeInfinity(m) ? 0.0 : Math.Exp((double)m - max);
                total += scaled[c] * chunkSum[((long)c * rows) + r];
            }

            double weight = rowWeight / total;
            for (int c = 0; c < chunks; c++)
            {
                factors[((long)c * rows) + r] = (float)(scaled[c] * weight);
            }
        }
    }

    /// <summary>mass[n] = Σ over the group's rows of exp tile · factor (GQA mean), or the max over query heads of their row sums.</summary>
    private static void AccumulateMass(FastLayer layer, int chunk, float* tile, double[] mass)
    {
        int first = chunk * FastLayer.ChunkTokens, end = Math.Min(first + layer.ChunkLength(chunk), layer.Prefix);
        int rows = layer.Rows, window = layer.Window;
        float* factors = layer.Workspace.Factors.Pointer + ((long)chunk * rows);
        bool mean = layer.Options.Gqa == GqaReduction.Mean, wide = layer.Wide;
        for (int n = first; n < end; n++)
        {
            float* row = tile + ((long)(n - first) * rows);
            if (mean)
            {
                mass[n] = RowMath.Dot(row, factors, layer.GroupRows, wide);
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
