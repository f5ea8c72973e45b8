using ExchangeHealth.Alerting.Rules;

namespace ExchangeHealth.Alerting.Tests.Rules;

public sealed class RuleSetTests
{
    internal static string Rules(string group, params string[] alerts) =>
        $"groups:\n  - name: {group}\n    rules:\n" + string.Concat(alerts.Select(a => $"      - alert: {a}\n        expr: vector(1)\n"));

    [Fact]
    public void LoadDirectory_LoadsYmlAndYamlOfTheDirectoryOnly()
    {
        using var dir = new RulesTempDirectory();
        string a = dir.Write("a.rules.yml", Rules("shared", "A1", "A2"));
        string b = dir.Write("b.rules.yaml", Rules("shared", "B1"));
        dir.Write("notes.txt", "groups: [ not rules");
        dir.Write("rules.yml.bak", "not yaml: [");
        // promtool unit tests live in a subdirectory and are not rule files.
        dir.Write("tests/a.test.yml", "rule_files: [../a.rules.yml]\ntests: []\n");

        var result = RuleSet.LoadDirectory(dir.Path, previous: null);

        Assert.Empty(result.Errors);
        var set = result.RuleSet;
        Assert.Equal(Path.GetFullPath(dir.Path), set.Directory);
        Assert.Equal([a, b], set.Files);
        // Same group name in two files: two groups, identified by (file, name).
        Assert.Equal([(a, "shared"), (b, "shared")], set.Groups.Select(g => (g.File, g.Name)));
        Assert.Equal(["A1", "A2"], set.Find(a, "shared")!.AlertingRules.Select(r => r.Name));
        Assert.Equal(["B1"], set.Find(b, "shared")!.AlertingRules.Select(r => r.Name));
        Assert.Null(set.Find(a, "other"));
        Assert.Equal(["A1", "A2", "B1"], set.AlertingRules.Select(r => r.Name));
    }

    [Fact]
    public void LoadDirectory_BrokenFile_KeepsItsPreviousGroups_ReloadsOthers_DropsDeleted()
    {
        using var dir = new RulesTempDirectory();
        string a = dir.Write("a.yml", Rules("ga", "A1"));
        string b = dir.Write("b.yml", Rules("gb", "B1"));
        string c = dir.Write("c.yml", Rules("gc", "C1"));
        var v1 = RuleSet.LoadDirectory(dir.Path, null);
        Assert.Empty(v1.Errors);

        // a breaks (line 5: unknown field), b changes, c is deleted, d is new but broken.
        dir.Write("a.yml", Rules("ga", "A1New") + "        bogus: 1\n");
        dir.Write("b.yml", Rules("gb", "B1", "B2"));
        File.Delete(c);
        string d = dir.Write("d.yml", "groups:\n  - name: gd\n    rules:\n      - alert: D\n");

        var v2 = RuleSet.LoadDirectory(dir.Path, v1.RuleSet);

        Assert.Equal(2, v2.Errors.Count);
        Assert.Equal((a, 6), (v2.Errors[0].File, v2.Errors[0].Line));
        Assert.Contains("field bogus not found", v2.Errors[0].Reason, StringComparison.Ordinal);
        Assert.Equal((d, 4), (v2.Errors[1].File, v2.Errors[1].Line));
        Assert.Contains("field 'expr' must be set", v2.Errors[1].Reason, StringComparison.Ordinal);
        var set = v2.RuleSet;
        Assert.Same(v1.RuleSet.Find(a, "ga"), set.Find(a, "ga")); // the previous version stays in force
        Assert.Equal(["B1", "B2"], set.Find(b, "gb")!.AlertingRules.Select(r => r.Name));
        Assert.Null(set.Find(c, "gc"));
        Assert.Empty(set.GroupsOf(d));
        Assert.Equal([a, b], set.Files);

        // Fixing a loads its new version; d stays refused and still has nothing in force.
        dir.Write("a.yml", Rules("ga", "A1Fixed"));
        var v3 = RuleSet.LoadDirectory(dir.Path, v2.RuleSet);
        Assert.Equal(d, Assert.Single(v3.Errors).File);
        Assert.Equal(["A1Fixed", "B1", "B2"], v3.RuleSet.AlertingRules.Select(r => r.Name));
    }

    [Fact]
    public void LoadDirectory_BrokenTwiceInARow_StillKeepsLastGoodVersion()
    {
        using var dir = new RulesTempDirectory();
        string a = dir.Write("a.yml", Rules("ga", "Good"));
        var v1 = RuleSet.LoadDirectory(dir.Path, null);
        dir.Write("a.yml", "groups: [");
        var v2 = RuleSet.LoadDirectory(dir.Path, v1.RuleSet);
        dir.Write("a.yml", "groups:\n  - name: ga\n    rules:\n      - alert: 'bad name'\n        expr: up\n");
        var v3 = RuleSet.LoadDirectory(dir.Path, v2.RuleSet);

        Assert.Equal("Good", Assert.Single(v3.RuleSet.AlertingRules).Name);
        var error = Assert.Single(v3.Errors);
        Assert.Equal($"{a}:4: group \"ga\", rule 1, \"bad name\": invalid alert name: bad name (must match [a-zA-Z_:][a-zA-Z0-9_:]*)", error.Message);
    }

    [Fact]
    public void LoadDirectory_MissingDirectory_IsAnErrorAndKeepsPrevious()
    {
        using var dir = new RulesTempDirectory();
        dir.Write("a.yml", Rules("ga", "A"));
        var v1 = RuleSet.LoadDirectory(dir.Path, null);
        string missing = Path.Combine(dir.Path, "gone");

        var v2 = RuleSet.LoadDirectory(missing, v1.RuleSet);

        Assert.Same(v1.RuleSet, v2.RuleSet);
        var error = Assert.Single(v2.Errors);
        Assert.Contains("does not exist", error.Reason, StringComparison.Ordinal);
        Assert.Empty(RuleSet.LoadDirectory(missing, null).RuleSet.Groups);
    }
}
