// The script editor: a line-number margin that grows with the line count, highlighted keywords,
// numbers and comments, and an error line marked until the text changes.
#include <QSyntaxHighlighter>
#include <QTextBlock>
#include <QtTest>

#include "widgets/script_editor.h"

using sbiw::widgets::ScriptEditor;

namespace {

// The format applied at `column` of `line` (0-based) by the highlighter.
QTextCharFormat formatAt(const ScriptEditor& editor, int line, int column) {
    const QTextBlock block = editor.document()->findBlockByNumber(line);
    for (const QTextLayout::FormatRange& range : block.layout()->formats())
        if (column >= range.start && column < range.start + range.length)
            return range.format;
    return {};
}

}  // namespace

class TestScriptEditor : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void highlightsKeywordsNumbersAndComments() {
        ScriptEditor editor;
        editor.setPlainText(
            "function simulate(theta, rng) {\n  return [theta[0] + 0.5]; // shift\n}\n/* a\nb */");
        QVERIFY(formatAt(editor, 0, 0).fontWeight() == QFont::Bold);                  // "function"
        QVERIFY(formatAt(editor, 1, 2).fontWeight() == QFont::Bold);                  // "return"
        QVERIFY(formatAt(editor, 1, 22).foreground().color() == QColor(150, 60, 0));  // "0.5"
        QVERIFY(formatAt(editor, 1, 28).fontItalic());                                // "// shift"
        QVERIFY(formatAt(editor, 4, 0).fontItalic());   // inside /* */ on the next line
        QVERIFY(!formatAt(editor, 0, 9).fontItalic());  // "simulate"
    }

    void marginGrowsWithTheLineCount() {
        ScriptEditor editor;
        editor.setPlainText("x");
        const int narrow = editor.lineNumberAreaWidth();
        editor.setPlainText(QString("x\n").repeated(1200));
        QVERIFY(editor.lineNumberAreaWidth() > narrow);
    }

    void errorLineIsMarkedUntilTheTextChanges() {
        ScriptEditor editor;
        editor.setPlainText("function simulate(theta, rng) {\n  return [nope];\n}\n");
        editor.markErrorLine(2, "ReferenceError: nope is not defined");
        QCOMPARE(editor.errorLine(), 2);
        QCOMPARE(editor.textCursor().blockNumber(), 1);  // the cursor went to the line
        QCOMPARE(editor.extraSelections().size(), 2);    // current line + error line
        editor.insertPlainText(" ");
        QCOMPARE(editor.errorLine(), 0);
        QCOMPARE(editor.extraSelections().size(), 1);
    }
};

QTEST_MAIN(TestScriptEditor)
#include "test_script_editor.moc"
