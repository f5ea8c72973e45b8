using ExchangeHealth.Alerting.Notify;
using ExchangeHealth.Incidents.Slack;
using ExchangeHealth.TestKit.Slack;

namespace ExchangeHealth.Incidents.Tests.Slack;

public sealed class SlackSlashCommandTests
{
    [Fact]
    public void Parses_the_form_Slack_posts()
    {
        string body = SlackCallbackSigner.SlashCommandBody("#42 note a+b = c & d%", userId: "U0ABC", userName: "alice", channelId: "C0XYZ", channelName: "inc-42",
            responseUrl: "https://hooks.slack.com/commands/T0/1/xyz", triggerId: "123.456.789");
        var c = SlackSlashCommand.Parse(body);
        Assert.Equal("/incident", c.Command);
        Assert.Equal("#42 note a+b = c & d%", c.Text);
        Assert.Equal("U0ABC", c.UserId);
        Assert.Equal("alice", c.UserName);
        Assert.Equal("C0XYZ", c.ChannelId);
        Assert.Equal("inc-42", c.ChannelName);
        Assert.Equal("T0FAKE", c.TeamId);
        Assert.Equal(new Uri("https://hooks.slack.com/commands/T0/1/xyz"), c.ResponseUrl);
        Assert.Equal("123.456.789", c.TriggerId);
    }

    [Fact]
    public void Plus_is_a_space_as_in_any_form()
    {
        var c = SlackSlashCommand.Parse("command=%2Fincident&text=note+hello+world%2B1&user_id=U1&channel_id=C1");
        Assert.Equal("note hello world+1", c.Text);
        Assert.Null(c.ResponseUrl);
        Assert.Null(c.TriggerId);
        Assert.Equal("", c.UserName);
    }

    [Theory]
    [InlineData("text=ack&user_id=U1&channel_id=C1", "command")]
    [InlineData("command=%2Fincident&text=ack&channel_id=C1", "user_id")]
    [InlineData("command=%2Fincident&text=ack&user_id=&channel_id=C1", "user_id")]
    [InlineData("command=%2Fincident&text=ack&user_id=U1", "channel_id")]
    [InlineData("command=incident&text=ack&user_id=U1&channel_id=C1", "command")]
    [InlineData("command=%2Fincident&text=ack&user_id=U1&channel_id=C1&response_url=not-a-url", "response_url")]
    [InlineData("command=%2Fincident&text=ack&user_id=U1&channel_id=C1&response_url=ftp%3A%2F%2Fhooks.slack.com%2Fx", "response_url")]
    [InlineData("command=%2Fincident&text=ack&text=resolve&user_id=U1&channel_id=C1", "text")]
    public void Bad_forms_name_the_field(string body, string field)
    {
        var e = Assert.Throws<PayloadFieldException>(() => SlackSlashCommand.Parse(body));
        Assert.Equal(field, e.Field);
    }

    [Fact]
    public void Text_longer_than_4000_characters_is_refused()
    {
        string ok = SlackCallbackSigner.SlashCommandBody("note " + new string('x', SlackSlashCommand.MaxTextLength - 5));
        Assert.Equal(SlackSlashCommand.MaxTextLength, SlackSlashCommand.Parse(ok).Text.Length);
        string tooLong = SlackCallbackSigner.SlashCommandBody("note " + new string('x', SlackSlashCommand.MaxTextLength - 4));
        Assert.Equal("text", Assert.Throws<PayloadFieldException>(() => SlackSlashCommand.Parse(tooLong)).Field);
    }

    [Fact]
    public void Bodies_over_16_KiB_are_refused_before_parsing()
    {
        string body = "command=%2Fincident&user_id=U1&channel_id=C1&pad=" + new string('a', SlackSlashCommand.MaxBodyBytes);
        Assert.Equal("body", Assert.Throws<PayloadFieldException>(() => SlackSlashCommand.Parse(body)).Field);
        // multi-byte characters count as bytes, not characters
        string wide = "command=%2Fincident&user_id=U1&channel_id=C1&pad=" + new string('\u00e9', SlackSlashCommand.MaxBodyBytes / 2);
        Assert.Equal("body", Assert.Throws<PayloadFieldException>(() => SlackSlashCommand.Parse(wide)).Field);
    }

    [Fact]
    public void Overlong_identifiers_are_refused()
    {
        string body = "command=%2Fincident&user_id=" + new string('U', 300) + "&channel_id=C1";
        Assert.Equal("user_id", Assert.Throws<PayloadFieldException>(() => SlackSlashCommand.Parse(body)).Field);
    }
}
