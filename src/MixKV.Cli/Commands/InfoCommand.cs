using System.CommandLine;
using System.Reflection;
using System.Runtime.InteropServices;
using MixKV.Cli.Backends;
using MixKV.Reference;
using Spectre.Console;

namespace MixKV.Cli.Commands;

/// <summary>`mixkv info`: library version, runtime, and every backend's probe result.</summary>
internal static class InfoCommand
{
    public static Command Build(CliIO io)
    {
        var command = new Command("info", "Show the library version, the .NET runtime and which backends are available");
        command.SetAction(_ => Run(io));
        return command;
    }

    private static int Run(CliIO io)
    {
        IAnsiConsole console = io.StdoutConsole();
        console.WriteLine($"MixKV library {Version(typeof(ReferenceCompressor).Assembly)}, mixkv {Version(typeof(InfoCommand).Assembly)}");
        console.WriteLine($"runtime {RuntimeInformation.FrameworkDescription} on {RuntimeInformation.OSDescription} ({RuntimeInformation.ProcessArchitecture})");

        var table = new Table().AddColumns("backend", "available", "detail", "description");
        foreach (BackendProbe backend in BackendRegistry.All)
        {
            BackendStatus status = backend.Probe();
            table.AddRow(Markup.Escape(backend.Name), status.Available ? "yes" : "no", Markup.Escape(status.Detail), Markup.Escape(backend.Description));
        }

        console.Write(table);
        return ExitCodes.Ok;
    }

    private static string Version(Assembly assembly) =>
        assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? assembly.GetName().Version?.ToString()
        ?? "unknown";
}
