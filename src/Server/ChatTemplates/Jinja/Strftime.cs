using System.Globalization;
using System.Text;

namespace Serving.Server.ChatTemplates.Jinja;

/// <summary>Python's <c>datetime.strftime</c> in the C locale, with glibc's <c>%-d</c> style flag to drop
/// padding.</summary>
internal static class Strftime
{
    public static string Format(DateTime time, string format)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        for (var i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length)
            {
                sb.Append(format[i]);
                continue;
            }

            var noPad = format[i + 1] == '-' && i + 2 < format.Length;
            if (noPad)
            {
                i++;
            }

            var directive = format[++i];
            string Pad(int value, int width) => noPad ? value.ToString(c) : value.ToString(new string('0', width), c);
            sb.Append(directive switch
            {
                'Y' => time.Year.ToString(c),
                'y' => Pad(time.Year % 100, 2),
                'm' => Pad(time.Month, 2),
                'd' => Pad(time.Day, 2),
                'e' => time.Day.ToString(c).PadLeft(2),
                'H' => Pad(time.Hour, 2),
                'I' => Pad(time.Hour % 12 == 0 ? 12 : time.Hour % 12, 2),
                'M' => Pad(time.Minute, 2),
                'S' => Pad(time.Second, 2),
                'f' => (time.Ticks % TimeSpan.TicksPerSecond / 10).ToString("000000", c),
                'p' => time.Hour < 12 ? "AM" : "PM",
                'B' => c.DateTimeFormat.GetMonthName(time.Month),
                'b' or 'h' => c.DateTimeFormat.GetAbbreviatedMonthName(time.Month),
                'A' => c.DateTimeFormat.GetDayName(time.DayOfWeek),
                'a' => c.DateTimeFormat.GetAbbreviatedDayName(time.DayOfWeek),
                'j' => Pad(time.DayOfYear, 3),
                'w' => ((int)time.DayOfWeek).ToString(c),
                'u' => (time.DayOfWeek == DayOfWeek.Sunday ? 7 : (int)time.DayOfWeek).ToString(c),
                'F' => time.ToString("yyyy-MM-dd", c),
                'T' => time.ToString("HH:mm:ss", c),
                'D' => time.ToString("MM/dd/yy", c),
                'R' => time.ToString("HH:mm", c),
                'c' => time.ToString("ddd MMM ", c) + time.Day.ToString(c).PadLeft(2) + time.ToString(" HH:mm:ss yyyy", c),
                'x' => time.ToString("MM/dd/yy", c),
                'X' => time.ToString("HH:mm:ss", c),
                'Z' or 'z' => string.Empty,
                'n' => "\n",
                't' => "\t",
                '%' => "%",
                _ => "%" + directive,
            });
        }

        return sb.ToString();
    }
}
