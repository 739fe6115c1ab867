using Serving.Kernels.Models;
using Serving.Kernels.Quantization;
using Serving.Kernels.Tensors;

namespace Serving.Kernels.Tests.Runner;

/// <summary>
/// The obviously-correct forward pass the fast runner is checked against: float64 throughout, weights expanded from
/// their stored form, one token at a time over a plain list of past keys and values, straight from the Llama
/// equations. Slow by design.
/// </summary>
internal sealed class ReferenceForward
{
    private readonly ModelConfig _c;
    private readonly double[][] _embedding;
    private readonly double[] _outputNorm;
    private readonly double[][] _output;
    private readonly Layer[] _layers;
    private readonly List<double[]>[] _keys;
    private readonly List<double[]>[] _values;

    public ReferenceForward(ModelConfig config, ModelWeights weights)
    {
        _c = config;
        _embedding = Matrix(weights.TokenEmbedding);
        _outputNorm = Vector(weights.OutputNorm);
        _output = Matrix(weights.Output);
        _layers = weights.Layers.Select(l => new Layer(
            Vector(l.AttentionNorm), Matrix(l.Query), Matrix(l.Key), Matrix(l.Value), Matrix(l.Output),
            l.QueryBias is null ? null : Vector(l.QueryBias),
            l.KeyBias is null ? null : Vector(l.KeyBias),
            l.ValueBias is null ? null : Vector(l.ValueBias),
            Vector(l.FeedForwardNorm), Matrix(l.Gate), Matrix(l.Up), Matrix(l.Down))).ToArray();
        _keys = _layers.Select(_ => new List<double[]>()).ToArray();
        _values = _layers.Select(_ => new List<double[]>()).ToArray();
    }

    /// <summary>Feeds the next token (at position = tokens fed so far) and returns its logits.</summary>
    public double[] Next(int token)
    {
        var position = _keys[0].Count;
        var x = (double[])_embedding[token].Clone();
        for (var l = 0; l < _layers.Length; l++)
        {
            var layer = _layers[l];
            var h = RmsNorm(x, layer.AttentionNorm);
            var q = Add(MatVec(layer.Wq, h), layer.Bq);
            var k = Add(MatVec(layer.Wk, h), layer.Bk);
            var v = Add(MatVec(layer.Wv, h), layer.Bv);
            Rope(q, _c.HeadCount, position);
            Rope(k, _c.KvHeadCount, position);
            _keys[l].Add(k);
            _values[l].Add(v);
            var attended = new double[_c.QDim];
            for (var head = 0; head < _c.HeadCount; head++)
            {
                var kvHead = head / _c.GroupSize;
                var scores = new double[position + 1];
                for (var p = 0; p <= position; p++)
                {
                    double s = 0;
                    for (var i = 0; i < _c.HeadDim; i++)
                    {
                        s += q[(head * _c.HeadDim) + i] * _keys[l][p][(kvHead * _c.HeadDim) + i];
                    }

                    scores[p] = s / Math.Sqrt(_c.HeadDim);
                }

                var max = scores.Max();
                var weights = scores.Select(s => Math.Exp(s - max)).ToArray();
                var total = weights.Sum();
                for (var p = 0; p <= position; p++)
                {
                    for (var i = 0; i < _c.HeadDim; i++)
                    {
                        attended[(head * _c.HeadDim) + i] += weights[p] / total * _values[l][p][(kvHead * _c.HeadDim) + i];
                    }
                }
            }

            x = Add(x, MatVec(layer.Wo, attended));
            var f = RmsNorm(x, layer.FeedForwardNorm);
            var gate = MatVec(layer.Gate, f);
            var up = MatVec(layer.Up, f);
            var act = gate.Select((g, i) => g / (1 + Math.Exp(-g)) * up[i]).ToArray();
            x = Add(x, MatVec(layer.Down, act));
        }

        return MatVec(_output, RmsNorm(x, _outputNorm));
    }

    private static double[] Vector(WeightTensor t) => TensorReader.ReadAll(t).Select(v => (double)v).ToArray();

    private static double[][] Matrix(WeightTensor t)
    {
        var rows = new double[t.Rows][];
        var row = new float[t.Columns];
        for (var r = 0; r < t.Rows; r++)
        {
            TensorReader.ReadRow(t, r, row);
            rows[r] = row.Select(v => (double)v).ToArray();
        }

        return rows;
    }

    private static double[] MatVec(double[][] w, double[] x) =>
        w.Select(row => row.Zip(x, (a, b) => a * b).Sum()).ToArray();

    private static double[] Add(double[] a, double[]? b) => b is null ? a : a.Zip(b, (p, q) => p + q).ToArray();

    private double[] RmsNorm(double[] x, double[] weight)
    {
        var ms = x.Sum(v => v * v) / x.Length;
        var scale = 1 / Math.Sqrt(ms + _c.RmsNormEps);
        return x.Select((v, i) => v * scale * weight[i]).ToArray();
    }

    private void Rope(double[] x, int heads, int position)
    {
        var dims = _c.RopeDimensions > 0 ? _c.RopeDimensions : _c.HeadDim;
        var half = dims / 2;
        for (var head = 0; head < heads; head++)
        {
            var o = head * _c.HeadDim;
            for (var j = 0; j < half; j++)
            {
                var frequency = Math.Pow(_c.RopeTheta, -2.0 * j / dims) / (_c.RopeFrequencyFactors?[j] ?? 1.0);
                var angle = position * frequency;
                var (i0, i1) = _c.RopeLayout == RopeLayout.Interleaved ? (o + (2 * j), o + (2 * j) + 1) : (o + j, o + j + half);
                double a = x[i0], b = x[i1];
                x[i0] = (a * Math.Cos(angle)) - (b * Math.Sin(angle));
                x[i1] = (a * Math.Sin(angle)) + (b * Math.Cos(angle));
            }
        }
    }

    private sealed record Layer(
        double[] AttentionNorm, double[][] Wq, double[][] Wk, double[][] Wv, double[][] Wo,
        double[]? Bq, double[]? Bk, double[]? Bv,
        double[] FeedForwardNorm, double[][] Gate, double[][] Up, double[][] Down);
}
