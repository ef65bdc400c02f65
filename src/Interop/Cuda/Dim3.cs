namespace MixKV.Interop;

/// <summary>A grid or block shape. Every extent is at least 1: a zero extent is a launch error the driver reports late.</summary>
public readonly record struct Dim3
{
    public Dim3(uint x, uint y = 1, uint z = 1)
    {
        ArgumentOutOfRangeException.ThrowIfZero(x);
        ArgumentOutOfRangeException.ThrowIfZero(y);
        ArgumentOutOfRangeException.ThrowIfZero(z);
        (X, Y, Z) = (x, y, z);
    }

    public uint X { get; }
    public uint Y { get; }
    public uint Z { get; }

    /// <summary>X * Y * Z.</summary>
    public ulong Volume => (ulong)X * Y * Z;

    public static implicit operator Dim3(uint x) => new(x);

    public override string ToString() => $"({X}, {Y}, {Z})";
}

/// <summary>The shape of one launch: grid, block and dynamic shared memory.</summary>
public readonly record struct LaunchConfig(Dim3 Grid, Dim3 Block, uint SharedMemoryBytes = 0)
{
    public override string ToString() => $"grid {Grid}, block {Block}, {SharedMemoryBytes} B shared";
}
