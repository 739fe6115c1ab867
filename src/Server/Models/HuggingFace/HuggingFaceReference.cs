namespace Serving.Server.Models.HuggingFace;

/// <summary>A parsed <c>hf:owner/repo</c> (a whole model directory) or <c>hf:owner/repo/path/in/repo</c> (one file)
/// model reference.</summary>
internal sealed record HuggingFaceReference
{
    /// <summary>The scheme prefix that marks a Hub reference.</summary>
    public const string Prefix = "hf:";

    private HuggingFaceReference(string owner, string repo, string? filePath)
    {
        Owner = owner;
        Repo = repo;
        FilePath = filePath;
    }

    /// <summary>The user or organisation that owns the repository.</summary>
    public string Owner { get; }

    /// <summary>The repository name.</summary>
    public string Repo { get; }

    /// <summary>The path of one file inside the repository, <c>/</c>-separated; null for the whole repository.</summary>
    public string? FilePath { get; }

    /// <summary><c>owner/repo</c>, as the Hub names the repository.</summary>
    public string RepoId => $"{Owner}/{Repo}";

    /// <summary>True when <paramref name="spec"/> starts with <c>hf:</c> (valid or not); a local path never does.</summary>
    public static bool IsReference(string? spec) => spec is not null && spec.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>Parses <paramref name="spec"/>; throws <see cref="ArgumentException"/> saying what is wrong.</summary>
    public static HuggingFaceReference Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return TryParse(spec, out var reference, out var error) ? reference : throw new ArgumentException(error);
    }

    /// <summary>Parses <paramref name="spec"/> without throwing; <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParse(string spec, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out HuggingFaceReference? reference, out string error)
    {
        ArgumentNullException.ThrowIfNull(spec);
        reference = null;
        const string Expected = "expected hf:owner/repo or hf:owner/repo/path/to/file";
        if (!IsReference(spec))
        {
            error = $"'{spec}' is not a Hugging Face reference: {Expected}";
            return false;
        }

        var body = spec[Prefix.Length..];
        var parts = body.Split('/', 3);
        if (parts.Length < 2 || parts[0].Length == 0 || parts[1].Length == 0)
        {
            error = $"invalid Hugging Face reference '{spec}': {Expected}";
            return false;
        }

        foreach (var name in parts.AsSpan(0, 2))
        {
            if (!HubNames.IsValidName(name))
            {
                error = $"invalid Hugging Face reference '{spec}': '{name}' is not a valid owner or repository name (letters, digits, '-', '_', '.'; no '--' or '..'; at most 96 characters); {Expected}";
                return false;
            }
        }

        string? file = null;
        if (parts.Length == 3)
        {
            file = parts[2];
            if (!HubNames.IsValidRepoPath(file))
            {
                error = $"invalid Hugging Face reference '{spec}': '{file}' is not a valid file path inside a repository (no empty, '.' or '..' segments, backslashes or control characters); {Expected}";
                return false;
            }
        }

        reference = new HuggingFaceReference(parts[0], parts[1], file);
        error = string.Empty;
        return true;
    }

    /// <inheritdoc/>
    public override string ToString() => FilePath is null ? $"{Prefix}{RepoId}" : $"{Prefix}{RepoId}/{FilePath}";
}
